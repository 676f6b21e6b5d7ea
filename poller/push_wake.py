"""A `push` wake: read the push source at once, in a round of its own.

Scheduling the next round "now" is not enough: a round already in flight may be reading
the push source at that moment (the old record), and its answer sets the slot's next read
5 s ahead, over the wake's "now"; APScheduler also skips a job whose previous run is still
going. So a wake starts (at most) one task that takes the poller's round lock, after any
round in flight, marks the push slot due inside it, and runs rounds until no submission is
left unread. Many submissions at once share rounds; none waits for the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from dataclasses import dataclass
from typing import Protocol

from poller.round import Round

log = logging.getLogger("nowplaying.poller")


@dataclass
class _Reader:
    wanted: bool = False
    task: asyncio.Task[None] | None = None


class Poller(Protocol):
    """What of the Poller (poller/service.py) a push round uses: its round, its round
    lock and its one poll job (a Protocol, so that this module does not import it back)."""

    round: Round
    is_leader: bool
    _lock: asyncio.Lock

    def now_ms(self) -> int: ...

    async def poll_round(self) -> float: ...

    def _schedule_poll(self, delay_s: float) -> None: ...


_READERS: weakref.WeakKeyDictionary[Poller, _Reader] = weakref.WeakKeyDictionary()


def request(poller: Poller) -> bool:
    """A submission arrived: read the pushed item as soon as the round lock is free.
    False when the poller has no push source (nothing to read)."""
    if "push" not in poller.round.slots:
        return False
    reader = _READERS.setdefault(poller, _Reader())
    reader.wanted = True
    if reader.task is None or reader.task.done():
        reader.task = asyncio.get_running_loop().create_task(_rounds(poller, reader))
    return True


async def _rounds(poller: Poller, reader: _Reader) -> None:
    try:
        async with poller._lock:
            while reader.wanted and poller.is_leader:
                reader.wanted = False
                poller.round.slots["push"].due_ms = poller.now_ms()
                poller._schedule_poll(await poller.poll_round())
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error reading the pushed item")


async def stop(poller: Poller) -> None:
    reader = _READERS.pop(poller, None)
    if reader is not None and reader.task is not None:
        reader.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader.task
