"""Spotify: currently-playing, recently-played, tokens and the daily budget."""
