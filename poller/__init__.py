"""The poller: asks Spotify what is playing and keeps the document in Redis current."""
