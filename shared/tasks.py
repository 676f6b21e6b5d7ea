"""Stopping background tasks without trusting them to honour one cancellation.

On Python 3.11, `asyncio.wait_for` can swallow a cancellation that lands in the same
loop step as its inner future completing (CPython gh-86296, bpo-42130; fixed in 3.12).
redis-py's and fakeredis' `PubSub.get_message(timeout=...)` wait that way, so a
listener task cancelled at the wrong moment simply carries on with its loop: awaiting
it after one `cancel()` hung `nowplaying poller` on SIGTERM, now and then, under load.

What must stay true: stopping never waits longer than its bound, and a task that ate a
cancellation is cancelled again (the race is rare; the next cancellation lands).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("nowplaying")

RECANCEL_EVERY_S = 0.1


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], timeout_s: float = 2.0) -> None:
    """Cancel `tasks` and wait until they have ended, cancelling again any still
    running; give up (with a warning) after `timeout_s`. Never raises."""
    loop = asyncio.get_running_loop()
    given = list(tasks)
    pending = {task for task in given if not task.done()}
    deadline = loop.time() + timeout_s
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - loop.time()
        if left <= 0:
            names = ", ".join(sorted(task.get_name() for task in pending))
            log.warning("%d task(s) did not stop within %g s: %s", len(pending), timeout_s, names)
            break
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_EVERY_S, left))
    for task in given:  # retrieve what they ended with, as awaiting them would have
        if task.done() and not task.cancelled():
            task.exception()
