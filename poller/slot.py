"""A source's schedule, back-off and latest status, one per source in the round."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from poller import plan, policy
from poller.failover import Status
from poller.source import Source, SourceError
from shared.document import Song


@dataclass
class SourceSlot:
    """A source's schedule, back-off and latest status."""

    source: Source
    status: Status = field(default_factory=Status)
    due_ms: int = 0
    failures: int = 0
    idle_since_ms: int | None = None

    def answered(self, song: Song | None, now_ms: int, poll_s: float, idle_s: float) -> None:
        self.failures = 0
        if policy.is_playing(song):
            self.idle_since_ms = None
        elif self.idle_since_ms is None:
            self.idle_since_ms = now_ms
        delay = plan.watched_delay(
            now_ms=now_ms,
            song=song,
            idle_since_ms=self.idle_since_ms,
            poll_s=poll_s,
            idle_poll_s=idle_s,
        )
        self.due_ms = now_ms + int(delay * 1000)
        fresh = now_ms + policy.stale_window_ms(delay)
        self.status = Status(song=song, ok_at_ms=now_ms, fresh_until_ms=fresh)

    def failed(self, error: SourceError, now_ms: int, poll_s: float, rng: random.Random) -> None:
        self.failures += 1
        if error.kind in ("auth", "config"):
            delay = policy.AUTH_RETRY_S
        else:
            delay = max(
                error.retry_after_s or 0.0, policy.backoff_delay(self.failures, poll_s, rng)
            )
        retry_at = now_ms + int((error.retry_after_s or delay) * 1000)
        self.due_ms = now_ms + int(delay * 1000)
        s = self.status
        self.status = Status(
            s.song, s.ok_at_ms, s.fresh_until_ms, error.kind, error.message, retry_at
        )
