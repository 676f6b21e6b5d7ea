"""One round: read every source that is due, and choose the answer to publish.

The one poll path, for one source or many: each source sits in a `SourceSlot` with its
own schedule and back-off; a round reads the due ones (a less preferred one only while no
preferred one plays, `failover.should_read`), and `failover.choose` picks the answer. The
round publishes nothing itself and writes no field of another object: the Poller hands
the choice to the publisher.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from poller import plan
from poller.failover import Choice, Status, choose, should_read
from poller.slot import SourceSlot
from poller.source import Source, SourceError
from shared import stats

log = logging.getLogger("nowplaying.sources")


class Round:
    """The sources of one poller, in preference order, and what each last said."""

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        poll_s: float,
        idle_s: float,
        timeout_s: float,
        clock_ms: Callable[[], int],
        rng: random.Random | None = None,
    ) -> None:
        self.order: tuple[str, ...] = tuple(s.name for s in sources)
        self.slots: dict[str, SourceSlot] = {s.name: SourceSlot(s) for s in sources}
        self.poll_s, self.idle_s, self.timeout_s = poll_s, idle_s, timeout_s
        self.clock_ms = clock_ms
        self.rng = rng or random.Random()
        self.choice: Choice | None = None
        self._last_messages: dict[str, str | None] = {}

    def statuses(self) -> dict[str, Status]:
        return {name: slot.status for name, slot in self.slots.items()}

    def states(self) -> dict[str, Any]:
        """For the heartbeat: each source's state and, when failing, what to do."""
        states = self.choice.states if self.choice else {}
        return {
            name: {
                "state": states.get(name, "unknown"),
                "error": status.message,
                "setup": status.cause,
            }
            for name, status in self.statuses().items()
        }

    # -- the schedule --------------------------------------------------------------------

    def due(self, now_ms: int) -> list[SourceSlot]:
        return [s for name in self.order if (s := self.slots[name]).due_ms <= now_ms]

    def next_due_ms(self) -> int:
        return min(slot.due_ms for slot in self.slots.values())

    def due_by(self, at_ms: int) -> None:
        """A view or a new stream wants an answer by `at_ms`: every source is read then
        (a paused or rate-limited one refuses without a call)."""
        for slot in self.slots.values():
            slot.due_ms = min(slot.due_ms, at_ms)

    # -- the round -----------------------------------------------------------------------

    async def read_due(self, watched: bool) -> bool:
        """Read every due source; True when at least one was read."""
        read = False
        poll_s, idle_s = plan.source_intervals(self.poll_s, self.idle_s, watched)
        for name in self.order:
            slot, now = self.slots[name], self.clock_ms()
            if slot.due_ms > now:
                continue
            if not should_read(name, self.order, self.statuses(), now):
                slot.due_ms = now + int(poll_s * 1000)
                continue
            await self._read(slot, watched, poll_s, idle_s)
            read = True
        return read

    def choose(self) -> Choice:
        self.choice = choose(self.order, self.statuses(), self.clock_ms())
        self._report()
        return self.choice

    async def _read(self, slot: SourceSlot, watched: bool, poll_s: float, idle_s: float) -> None:
        source = slot.source
        try:
            # A source bounds its own calls; this is the backstop for one that does not.
            async with asyncio.timeout(self.timeout_s + 0.5):
                song = await source.read(self.clock_ms())
        except SourceError as exc:
            slot.failed(exc, self.clock_ms(), poll_s, self.rng)
            return
        except TimeoutError:
            error = SourceError("unavailable", f"{source.name} did not answer in time")
            slot.failed(error, self.clock_ms(), poll_s, self.rng)
            return
        now = self.clock_ms()
        slot.note(song, now)
        delay: float | None = None
        own_plan = getattr(source, "next_delay", None)
        if own_plan is not None:
            delay = await own_plan(now, song, slot.idle_since_ms, watched)
        slot.answered(song, now, poll_s, idle_s, delay)

    def _report(self) -> None:
        """One log line per change of a source's error, never one per poll. Spotify's
        source logs its own, with the fix."""
        for name, status in self.statuses().items():
            if name == "spotify" or self._last_messages.get(name) == status.message:
                continue
            self._last_messages[name] = status.message
            if status.message:
                log.warning("%s: %s", name, status.message)
            elif status.error is None:
                log.info("%s answers", name)

    def take_calls(self) -> dict[str, int]:
        """Every source's calls since the last take, as `provider:endpoint:status` keys."""
        counts: dict[str, int] = {}
        for name, slot in self.slots.items():
            counts |= stats.call_keys(name, slot.source.take_calls())
        return counts
