"""Lanyard: the Spotify activity of one Discord user, read from Lanyard's REST API."""

from poller.providers.lanyard.source import build

__all__ = ["build"]
