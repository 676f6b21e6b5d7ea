"""One Redis subscription kept alive across Redis restarts, for both sides.

redis-py's asyncio PubSub neither reconnects by itself nor notices a silent connection,
so the link is pinged, a missing pong counts as a dead link, and the channel is
resubscribed with backoff. `on_subscribed` runs after every (re)subscribe, so a reader
can re-read what it may have missed during the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

PING_EVERY_S = 5.0
PONG_DEADLINE_S = 10.0


async def close_quietly(pubsub: Any, timeout_s: float = 1.0) -> None:
    """Close `pubsub`, giving up after `timeout_s`; a dead connection raises nothing.

    redis-py 5 left `PubSub.aclose` unannotated and 8 annotates it; calling it through
    `Any` keeps `mypy --strict` quiet on both without a `type: ignore`."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pubsub.aclose(), timeout_s)


async def subscribe(
    redis: Any,
    channel: str,
    on_message: Callable[[bytes], object],
    *,
    on_subscribed: Callable[[], Awaitable[None]] | None = None,
    on_lost: Callable[[Exception], None] | None = None,
    closed: Callable[[], bool] = lambda: False,
) -> None:
    """Feed every message of `channel` to `on_message` until cancelled or `closed()`."""
    delay = 0.2
    while not closed():
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(channel)
            if on_subscribed is not None:
                await on_subscribed()
            delay = 0.2
            await _listen(pubsub, on_message, closed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every redis and socket error means: reconnect
            if on_lost is not None:
                on_lost(exc)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
        finally:
            await close_quietly(pubsub)


async def _listen(
    pubsub: Any, on_message: Callable[[bytes], object], closed: Callable[[], bool]
) -> None:
    last_ping = last_pong = time.monotonic()
    while not closed():
        message = await pubsub.get_message(timeout=1.0)
        now = time.monotonic()
        if message is not None:
            last_pong = now  # any traffic, a pong included, proves the link alive
            if message.get("type") == "message":
                data = message["data"]
                on_message(data if isinstance(data, bytes) else str(data).encode())
        if now - last_ping >= PING_EVERY_S:
            await pubsub.ping()
            last_ping = now
        if now - last_pong > PONG_DEADLINE_S:
            raise ConnectionError("no pong from redis")
