"""ListenBrainz: playing-now and the latest listen of one user."""

from poller.providers.listenbrainz.source import build

__all__ = ["build"]
