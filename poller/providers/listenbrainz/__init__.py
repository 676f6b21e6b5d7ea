"""ListenBrainz: playing-now and the latest listen of one user."""
