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


async def follow(store: Store, hub: Hub) -> None:
    """Run until cancelled, feeding `hub` every document published under `store`'s prefix;
    after every (re)subscribe the stored document is read again, so a change made during
    a gap is not lost."""

    async def subscribed() -> None:
        raw = await store.current_raw()
        if raw:
            hub.update(raw)
        if not hub.redis_ok:
            log.info("subscribed to %s", store.keys.updates)
        hub.redis_ok = True

    def lost(exc: Exception) -> None:
        if hub.redis_ok:
            log.warning("lost the redis subscription (%s); reconnecting", type(exc).__name__)
        hub.redis_ok = False
        hub.reconnects += 1

    await subscribe(
        store.redis,
        store.keys.updates,
        hub.update,
        on_subscribed=subscribed,
        on_lost=lost,
        closed=lambda: hub.closed,
    )


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
