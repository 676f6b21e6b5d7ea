"""What /readyz and /metrics read from Redis, read at most once a second.

Each request used to query Redis: /readyz saturated at about 1,100 requests/s and
/metrics at 360, and a flood of either loaded the Redis every poller and web shares.
Now one snapshot (ping, the heartbeat, the poller's counters) is fetched at most every
`max_age_s`, concurrent requests share one fetch, and a failure is remembered as long as
a value is (so a Redis outage does not make every request wait for its own timeout).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared.heartbeat import Heartbeat
from shared.quota_store import QuotaStore
from shared.store import Store

T = TypeVar("T")


class Cached(Generic[T]):
    """`fetch()`'s result, or its exception, reused for `max_age_s`."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[T]],
        max_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.max_age_s = max_age_s
        self.clock = clock
        self.at: float | None = None
        self.value: T | None = None
        self.error: BaseException | None = None
        self.pending: asyncio.Future[None] | None = None
        self.fetches = 0

    async def get(self) -> T:
        if self.at is None or self.clock() - self.at >= self.max_age_s:
            if self.pending is None:
                self.pending = asyncio.ensure_future(self._refresh())
            await asyncio.shield(self.pending)
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]

    async def _refresh(self) -> None:
        self.fetches += 1
        try:
            self.value, self.error = await self.fetch(), None
        except Exception as exc:
            self.value, self.error = None, exc
        finally:
            self.at = self.clock()
            self.pending = None


@dataclass(frozen=True)
class Snapshot:
    heartbeat: Heartbeat | None
    stats: dict[str, int]
    calls_24h: int | None = None  # Spotify calls in the rolling 24 h
    paused_until: int | None = None  # ms epoch of the quota or budget pause, if any
    learnt_quota: int | None = None  # the quota learnt from a QUOTA_EXCEEDED, if any
    learnt_until: int | None = None  # ms epoch until which it holds


def redis_snapshot(
    store: Store, quota: QuotaStore | None = None, timeout_s: float = 1.5
) -> Cached[Snapshot]:
    """The one cached read behind /readyz and /metrics."""

    async def fetch() -> Snapshot:
        async with asyncio.timeout(timeout_s):
            await store.ping()
            beat, stats = await store.heartbeat(), await store.stats()
            if quota is None:
                return Snapshot(beat, stats)
            now = int(time.time() * 1000)
            pause = await quota.pause(now)
            until = pause.until_ms if pause is not None else None
            calls, learnt = await quota.calls_24h(now), await quota.learnt_record()
            if learnt is None:
                return Snapshot(beat, stats, calls, until)
            return Snapshot(beat, stats, calls, until, learnt[0], learnt[1])

    return Cached(fetch)
