"""Push: what the owner's own player told the ingest routes (zero provider calls)."""

from poller.providers.push.source import build

__all__ = ["build"]
