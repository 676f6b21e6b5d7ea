"""Failover across sources, wired to the Poller: reads each source on its own schedule,
asks the pure chooser which answer to publish, and publishes it through the Poller.

Spotify keeps its own path (`Poller.poll_once`: tokens, 429 gate, budget); this module only
reads the Poller's state after it, and stops the Poller from publishing on its own while
several sources are configured (`Poller._publish(..., force=True)` is the one way in).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

from poller import policy
from poller.failover import Choice, Status, choose, should_read
from poller.providers import build_sources
from poller.slot import SourceSlot
from poller.source import Source, SourceContext, SourceError

if TYPE_CHECKING:
    from poller.service import Poller

log = logging.getLogger("nowplaying.sources")
# With no stream open (POLL_MODE=viewers), the scrobblers are read this sparsely; a one-shot
# view wakes them at once (Poller.on_wake), so a README card still shows what plays.
UNWATCHED_POLL_S = 60.0
UNWATCHED_IDLE_S = 600.0


def spotify_status(poller: Poller, previous: Status, now_ms: int, delay_s: float) -> Status:
    """Spotify's latest outcome, read from the Poller's own state after `poll_once`."""
    if poller.state == "ok":
        fresh = now_ms + policy.stale_window_ms(delay_s)
        return Status(song=poller.song, ok_at_ms=now_ms, fresh_until_ms=fresh)
    base = (previous.song, previous.ok_at_ms, previous.fresh_until_ms)
    if poller.state == "auth_error":
        message = f"Spotify refused the credentials ({poller.auth_error}): reconnect"
        return Status(*base, "auth", message, None)
    if poller.state == "paused" and poller.pause is not None:
        what = "its daily quota" if poller.pause.reason == "quota" else "SPOTIFY_DAILY_BUDGET"
        message = f"Spotify may not be called ({what} is spent)"
        return Status(*base, "paused", message, poller.pause.until_ms)
    if poller.state == "rate_limited":
        until = int(poller.spotify.blocked_until_s * 1000)
        return Status(*base, "rate_limited", "Spotify answered 429", until)
    return Status(
        *base, "unavailable", f"Spotify poll failed ({poller.state})", now_ms + int(delay_s * 1000)
    )


class Failover:
    """One per Poller when Last.fm or ListenBrainz is configured."""

    def __init__(
        self, order: tuple[str, ...], sources: list[Source], seed: int | None = None
    ) -> None:
        self.order = order
        self.slots: dict[str, SourceSlot] = {s.name: SourceSlot(s) for s in sources}
        self.spotify = Status()
        self.spotify_due_ms = 0
        self.rng = random.Random(seed)
        self.choice: Choice | None = None
        self._last_messages: dict[str, str | None] = {}

    @classmethod
    def for_poller(cls, poller: Poller) -> Failover | None:
        """None when Spotify is the only source: the Poller then runs exactly as before."""
        settings = poller.settings
        sources = build_sources(SourceContext(settings, poller.http, poller.clock, poller.store))
        if not sources:
            return None
        return cls(settings.source_order, sources)

    def statuses(self) -> dict[str, Status]:
        found: dict[str, Status] = {name: slot.status for name, slot in self.slots.items()}
        if "spotify" in self.order:
            found["spotify"] = self.spotify
        return found

    def states(self) -> dict[str, Any]:
        """For the heartbeat: each source's state and, when failing, what to do."""
        states = self.choice.states if self.choice else {}
        return {
            name: {"state": states.get(name, "unknown"), "error": status.message}
            for name, status in self.statuses().items()
        }

    async def poll(self, poller: Poller) -> float:
        """Read every source that is due, publish the chosen answer; seconds to the next."""
        now = poller.now_ms()
        if "spotify" in self.order and now >= self.spotify_due_ms:
            try:
                delay = await poller.poll_once()
            except Exception:
                log.exception("unexpected error in the Spotify poll")
                poller.state, delay = "error", poller.settings.poll_interval
            now = poller.now_ms()
            self.spotify = spotify_status(poller, self.spotify, now, delay)
            self.spotify_due_ms = now + int(delay * 1000)
        read = False
        for name in self.order:
            slot = self.slots.get(name)
            if slot is None or now < slot.due_ms:
                continue
            if not should_read(name, self.order, self.statuses(), now):
                slot.due_ms = now + int(self.intervals(poller)[0] * 1000)
                continue
            await self._read(poller, slot)
            read = True
        if read and "spotify" not in self.order:
            await poller.observe_demand(poller.now_ms())  # Spotify's own poll does it else
        self.choice = choose(self.order, self.statuses(), poller.now_ms())
        if "spotify" not in self.order:
            poller.state = "ok" if self.choice.provider else "error"
            if self.choice.provider:
                poller.last_success_ms = poller.now_ms()
        await self._report()
        await poller._publish(
            self.choice.song,
            stale=self.choice.stale,
            keep_song=self.choice.provider is None,
            force=True,
            paused_until=self.choice.paused_until,
        )
        await self._flush_calls(poller)
        dues = [slot.due_ms for slot in self.slots.values()]
        if "spotify" in self.order:
            dues.append(self.spotify_due_ms)
        return max(0.2, (min(dues) - poller.now_ms()) / 1000)

    @staticmethod
    def intervals(poller: Poller) -> tuple[float, float]:
        """(while playing, once idle) seconds for the scrobblers: the one place where demand
        (POLL_MODE) applies to them too, as it does to Spotify's own schedule. Unwatched
        they read sparsely; a view wakes them (`due_by`)."""
        poll_s, idle_s = poller.settings.poll_interval, poller.settings.idle_poll_interval
        if poller.watched:
            return poll_s, idle_s
        return max(poll_s, UNWATCHED_POLL_S), max(idle_s, UNWATCHED_IDLE_S)

    def due_by(self, at_ms: int) -> None:
        """A view or a new stream wants an answer by `at_ms`: every scrobbler is read then."""
        for slot in self.slots.values():
            slot.due_ms = min(slot.due_ms, at_ms)

    async def _read(self, poller: Poller, slot: SourceSlot) -> None:
        poll_s, idle_s = self.intervals(poller)
        now = poller.now_ms()
        try:
            async with asyncio.timeout(poller.poll_timeout_s):
                song = await slot.source.read(now)
        except SourceError as exc:
            slot.failed(exc, poller.now_ms(), poll_s, self.rng)
        except TimeoutError:
            error = SourceError("unavailable", f"{slot.source.name} did not answer in time")
            slot.failed(error, poller.now_ms(), poll_s, self.rng)
        else:
            slot.answered(song, poller.now_ms(), poll_s, idle_s)

    async def _report(self) -> None:
        """One log line per change of a source's error, never one per poll."""
        for name, status in self.statuses().items():
            if self._last_messages.get(name) != status.message:
                self._last_messages[name] = status.message
                if status.message and name != "spotify":
                    log.warning("%s: %s", name, status.message)
                elif name != "spotify" and status.error is None:
                    log.info("%s answers", name)

    async def _flush_calls(self, poller: Poller) -> None:
        counts: dict[str, int] = {}
        for name, slot in self.slots.items():
            counts |= {f"{name}:{k}": v for k, v in slot.source.take_calls().items()}
        if counts:
            await poller._safe(poller.store.add_stats(counts))
