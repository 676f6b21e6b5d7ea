"""A source's schedule, back-off and latest status, one per source in the round."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from poller import plan, policy
from poller.failover import Status
from poller.source import Source, SourceError
from shared.document import Song

PAUSE_MARGIN_S = 0.05
PAUSE_MIN_S = 0.2


@dataclass
class SourceSlot:
    """A source's schedule, back-off and latest status."""

    source: Source
    status: Status = field(default_factory=Status)
    due_ms: int = 0
    failures: int = 0
    idle_since_ms: int | None = None
    on_player: Song | None = None  # the last read that found an item on the player

    def note(self, song: Song | None, now_ms: int) -> None:
        """Track when playing stopped: the schedule slows down after ten idle minutes,
        counted from the last read that shows music played (a paused item other than
        the one read before played in between)."""
        if policy.is_playing(song):
            self.idle_since_ms = None
        elif self.idle_since_ms is None or policy.played_between(self.on_player, song):
            self.idle_since_ms = now_ms
        if song is not None and song["source"] == "current":
            self.on_player = song

    def answered(
        self,
        song: Song | None,
        now_ms: int,
        poll_s: float,
        idle_s: float,
        delay_s: float | None = None,
    ) -> None:
        """A good read. `delay_s`: the source's own plan (Spotify's budget), else the
        watched schedule at these intervals."""
        self.failures = 0
        self.note(song, now_ms)
        if delay_s is None:
            delay_s = plan.watched_delay(
                now_ms=now_ms,
                song=song,
                idle_since_ms=self.idle_since_ms,
                poll_s=poll_s,
                idle_poll_s=idle_s,
            )
        self.due_ms = now_ms + int(delay_s * 1000)
        fresh = now_ms + policy.stale_window_ms(delay_s)
        self.status = Status(song=song, ok_at_ms=now_ms, fresh_until_ms=fresh)

    def failed(self, error: SourceError, now_ms: int, poll_s: float, rng: random.Random) -> None:
        """A failed read: what only the owner can fix is re-checked rarely (or when the
        source asks, e.g. for a token stored meanwhile); a pause lasts exactly its time;
        anything else backs off, at least for the time the provider asked."""
        self.failures += 1
        if error.kind in ("auth", "config"):
            delay = error.retry_after_s or policy.AUTH_RETRY_S
        elif error.kind == "paused" and error.retry_after_s is not None:
            delay = max(PAUSE_MIN_S, error.retry_after_s + PAUSE_MARGIN_S)  # just after it ends
        else:
            delay = max(
                error.retry_after_s or 0.0, policy.backoff_delay(self.failures, poll_s, rng)
            )
        retry_at = now_ms + int((error.retry_after_s or delay) * 1000)
        self.due_ms = now_ms + int(delay * 1000)
        s = self.status
        self.status = Status(
            s.song, s.ok_at_ms, s.fresh_until_ms, error.kind, error.message, retry_at, error.cause
        )
