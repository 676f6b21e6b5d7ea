"""Spotify: currently-playing, recently-played, tokens and the daily budget."""

from poller.providers.spotify.source import build

__all__ = ["build"]
