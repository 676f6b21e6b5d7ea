"""One Redis subscription per web process, kept alive across Redis restarts.

redis-py's asyncio PubSub neither reconnects by itself nor notices a silent connection,
so we ping it, treat a missing pong as a dead link, resubscribe with backoff, and re-read
the stored document after every subscribe: a change made during the gap is not lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from shared.document import Document
from shared.heartbeat import is_fresh
from shared.pubsub import close_quietly
from shared.store import Store
from web.hub import Hub

log = logging.getLogger("nowplaying.web")

PING_EVERY_S = 5.0
PONG_DEADLINE_S = 10.0


async def follow(store: Store, hub: Hub) -> None:
    """Run until cancelled, feeding `hub` every document published under `store`'s prefix."""
    delay = 0.2
    while not hub.closed:
        pubsub = store.redis.pubsub()
        try:
            await pubsub.subscribe(store.keys.updates)
            raw = await store.current_raw()
            if raw:
                hub.update(raw)
            if not hub.redis_ok:
                log.info("subscribed to %s", store.keys.updates)
            hub.redis_ok = True
            delay = 0.2
            await _listen(pubsub, hub)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every redis and socket error means: reconnect
            if hub.redis_ok:
                log.warning("lost the redis subscription (%s); reconnecting", type(exc).__name__)
            hub.redis_ok = False
            hub.reconnects += 1
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
        finally:
            await close_quietly(pubsub)


async def _listen(pubsub: Any, hub: Hub) -> None:
    last_ping = last_pong = time.monotonic()
    while not hub.closed:
        message = await pubsub.get_message(timeout=1.0)
        now = time.monotonic()
        if message is not None:
            last_pong = now  # any traffic, a pong included, proves the link alive
            if message.get("type") == "message":
                hub.update(message["data"])
        if now - last_ping >= PING_EVERY_S:
            await pubsub.ping()
            last_ping = now
        if now - last_pong > PONG_DEADLINE_S:
            raise ConnectionError("no pong from redis")


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
