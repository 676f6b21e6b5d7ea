"""What one web process owns and runs: the hub, the Redis follower, the timers, and
whatever else the composition root hands it to start and stop (a poller, in `nowplaying run`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from shared.config import Settings
from shared.quota_store import QuotaStore
from shared.store import Store
from shared.tasks import cancel_and_wait
from web.admin_guard import AdminGuard
from web.art import ArtCache, LocalArt
from web.art_policy import ArtPolicy
from web.demand import Demand
from web.follower import follow, watch_poller
from web.http_limits import LimitedHttpToolsProtocol
from web.hub import Hub
from web.metrics import Metrics
from web.read_cache import Cached, Snapshot, redis_snapshot
from web.stream_limits import LimitsCollector, StreamLimiter

VIEW_WAIT_S = 1.5  # how long a one-shot view waits for the poll it asked for


class Service(Protocol):
    """Something that runs beside the web app for the process's lifetime."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class WebRuntime:
    """Everything one web process owns: the only mutable state of the process."""

    settings: Settings
    store: Store
    demo: bool = False
    services: Sequence[Service] = ()
    local_art: LocalArt | None = None  # same-origin art (the demo's), drawn by the caller
    hub: Hub = field(init=False)
    metrics: Metrics = field(init=False)
    http: httpx.AsyncClient = field(init=False)
    art: ArtCache = field(init=False)
    limiter: StreamLimiter = field(init=False)
    admin: AdminGuard = field(init=False)
    redis_reads: Cached[Snapshot] = field(init=False)
    demand: Demand = field(init=False)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hub = Hub(demo=self.demo)
        self.metrics = Metrics(self.hub)
        self.limiter = StreamLimiter(
            self.settings.max_streams,
            self.settings.max_streams_per_client,
            self.settings.client_ipv6_prefix,
        )
        self.metrics.registry.register(LimitsCollector(self.limiter, LimitedHttpToolsProtocol))
        self.admin = AdminGuard(
            self.settings.admin_token, ipv6_prefix=self.settings.client_ipv6_prefix
        )
        self.demand = Demand(QuotaStore(self.store), self.hub)
        self.redis_reads = redis_snapshot(self.store, self.demand.quota)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(3.0), follow_redirects=True)
        policy = ArtPolicy.from_settings(self.settings)
        self.art = ArtCache(policy=policy, local=self.local_art)  # a pinned client of its own

    async def fresh(self, max_wait: float = 0.0) -> None:
        """For one-shot views: ask for a poll when the last one is too old, and wait up
        to `max_wait` s for it (0: ask, do not wait). Never raises."""
        await self.demand.fresh(max_wait)

    async def fresh_view(self) -> None:
        """/embed.svg, /now.txt, /open: ask, and wait briefly for the answer."""
        await self.demand.fresh(VIEW_WAIT_S)

    def ask_fresh(self) -> None:
        """Ask without waiting, from code that cannot await (the hot JSON route)."""
        self.demand.ask()

    async def start(self) -> None:
        raw = None
        with contextlib.suppress(Exception):
            raw = await asyncio.wait_for(self.store.current_raw(), 2)
        if raw:
            self.hub.update(raw)
        self.tasks = [
            asyncio.create_task(follow(self.store, self.hub)),
            asyncio.create_task(
                watch_poller(self.store, self.hub, self.settings.stale_after_s, self.demo)
            ),
            asyncio.create_task(self.hub.run_timers(self.settings.sse_ping_interval)),
            asyncio.create_task(self.demand.run()),
        ]
        for service in self.services:
            await service.start()

    async def stop(self) -> None:
        self.hub.close()
        for service in reversed(self.services):
            await service.stop()
        await cancel_and_wait(self.tasks)
        await self.http.aclose()
        await self.art.aclose()
