"""The web process's two Redis followers: the document subscription (shared/pubsub.py
keeps it alive) and the poller watchdog."""

from __future__ import annotations

import asyncio
import logging
import time

from shared.document import Document
from shared.heartbeat import is_fresh
from shared.pubsub import subscribe
from shared.store import Store
from web.hub import Hub

log = logging.getLogger("nowplaying.web")


class Resync:
    """Reads `P:current` back for the hub when a published document is not simply the
    next version (web/hub.py says why). One read at a time: requests made during a read
    cost one more read after it, however many there were, so a flood of odd messages
    costs Redis at most two reads in flight. A read that raced a document taken meanwhile
    is repeated, so an older stored copy never replaces a newer one just taken."""

    ATTEMPTS = 3

    def __init__(self, store: Store, hub: Hub) -> None:
        self.store = store
        self.hub = hub
        self.task: asyncio.Task[None] | None = None
        self.again = False

    def request(self) -> None:
        if self.task is not None and not self.task.done():
            self.again = True
            return
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        self.again = True
        while self.again:
            self.again = False
            await self.once()

    async def once(self) -> None:
        for _ in range(self.ATTEMPTS):
            generation = self.hub.generation
            try:
                raw = await self.store.current_raw()
            except Exception as exc:  # the subscription notices a dead link by itself
                log.debug("re-reading the document: %s", type(exc).__name__)
                return
            if self.hub.generation == generation:
                self.hub.resync(raw)
                return

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def follow(store: Store, hub: Hub) -> None:
    """Run until cancelled, feeding `hub` every document published under `store`'s prefix;
    after every (re)subscribe the stored document is read again, so a change made during
    a gap is not lost."""
    resync = Resync(store, hub)

    def message(raw: bytes) -> None:
        if hub.offer(raw) is None:
            resync.request()

    async def subscribed() -> None:
        hub.resync(await store.current_raw())
        if not hub.redis_ok:
            log.info("subscribed to %s", store.keys.updates)
        hub.redis_ok = True

    def lost(exc: Exception) -> None:
        if hub.redis_ok:
            log.warning("lost the redis subscription (%s); reconnecting", type(exc).__name__)
        hub.redis_ok = False
        hub.reconnects += 1

    try:
        await subscribe(
            store.redis,
            store.keys.updates,
            message,
            on_subscribed=subscribed,
            on_lost=lost,
            closed=lambda: hub.closed,
        )
    finally:
        resync.cancel()


async def watch_poller(store: Store, hub: Hub, stale_after_s: float, demo: bool) -> None:
    """Mark the document stale when the poller's heartbeat stops (the poller is down), or
    in this process alone when Redis itself has been out of reach as long."""
    last_reached = time.monotonic()
    while not hub.closed:
        await asyncio.sleep(min(2.0, stale_after_s / 3))
        try:
            async with asyncio.timeout(2.0):
                beat = await store.heartbeat()
            last_reached = time.monotonic()
            if is_fresh(beat, int(time.time() * 1000), stale_after_s):
                continue

            def mark(stored: Document | None, floor: int = hub.version) -> Document | None:
                if stored is None or stored["stale"]:
                    return None
                return stored | {
                    "version": max(stored["version"], floor) + 1,
                    "updatedAt": int(time.time() * 1000),
                    "stale": True,
                }

            if await store.transition(mark):
                log.warning("the poller's heartbeat is missing or old: marked the data stale")
        except asyncio.CancelledError:
            raise
        except Exception:
            away_s = time.monotonic() - last_reached
            if away_s > stale_after_s and hub.mark_stale(int(time.time() * 1000)):
                log.warning(
                    "redis out of reach for %.0f s: serving the last document as stale", away_s
                )
