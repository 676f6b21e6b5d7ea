"""Last.fm: `user.getRecentTracks` (now playing and the latest scrobble in one call)."""

from poller.providers.lastfm.source import build

__all__ = ["build"]
