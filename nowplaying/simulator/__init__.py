"""A simulated Spotify (accounts service + Web API) for tests, demos and development."""
