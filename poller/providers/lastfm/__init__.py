"""Last.fm: `user.getRecentTracks` (now playing and the latest scrobble in one call)."""
