"""The daily budget with real processes: `python -m web` and `python -m poller` against a real
redis-server and the simulator on a socket. Demand wakes and idles the poller, a view
after silence gets a fresh document, QUOTA_EXCEEDED pauses every poller (restarts and
leader changes included) and ends on time, and the budget holds with two pollers."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.procs import python
from nowplaying.simulator.spotify import Fault, SimState
from shared.store import Store, connect
from tests.conftest import RedisServer
from tests.reliability.conftest import Stack, running_stack, until


def calls(sim: SimState) -> int:
    return sum(v for k, v in sim.calls.items() if " " not in k)


async def calls_during(sim: SimState, seconds: float) -> int:
    before = calls(sim)
    await asyncio.sleep(seconds)
    return calls(sim) - before


async def test_demand_wakes_and_idles_the_poller_and_a_view_gets_fresh_news(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server, POLL_MODE="viewers") as stack:
        sim = stack.sim
        await asyncio.sleep(1.5)
        assert await calls_during(sim, 4) <= 1  # nobody watches: no polling at 1 s

        # A client of its own: the stack's client reads every answer to its end.
        async with (
            httpx.AsyncClient(timeout=10) as viewer,
            viewer.stream("GET", f"{stack.web_url}/api/stream") as stream,
        ):
            assert stream.status_code == 200
            await asyncio.sleep(1.0)
            assert await calls_during(sim, 4) >= 3  # a stream is open: POLL_INTERVAL

        await asyncio.sleep(1.5)
        assert await calls_during(sim, 4) <= 1  # the stream closed: idle again

        # Silence longer than the freshness window, then a skip nobody has seen yet.
        await asyncio.sleep(31)
        sim.player.skip(sim.clock())
        name = sim.player.items[sim.player.index].name
        r = await stack.get("/embed.svg")
        assert r.status_code == 200 and name in r.text


async def test_a_json_read_asks_for_a_poll_without_waiting(redis_server: RedisServer) -> None:
    async with running_stack(redis_server, POLL_MODE="viewers") as stack:
        sim = stack.sim
        await asyncio.sleep(31)  # older than the freshness window
        sim.player.skip(sim.clock())
        name = sim.player.items[sim.player.index].name
        await stack.get("/api/now-playing")

        async def fresh() -> bool:
            song = (await stack.document())["song"]
            return song is not None and song["name"] == name

        assert await until(fresh, 3, "the poll asked for by a JSON read") < 3


async def quota_report(stack: Stack) -> tuple[int | None, int | None, float]:
    doc = await stack.document()
    ready = (await stack.get("/readyz")).json()["spotify"]["pausedUntil"]
    metrics = (await stack.get("/metrics")).text
    line = next(x for x in metrics.splitlines() if x.startswith("nowplaying_spotify_paused"))
    return doc["pausedUntil"], ready, float(line.split()[1])


async def test_quota_exceeded_pauses_every_poller_and_ends_on_time(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server) as stack:
        sim = stack.sim
        second = python("poller2", ["-m", "poller"], stack.env)  # a standby
        stack.procs["poller2"] = second
        await asyncio.sleep(2)
        sim.faults.append(Fault("any", status=429, retry_after=25, reason="QUOTA_EXCEEDED"))

        async def paused() -> bool:
            return (await stack.document())["pausedUntil"] is not None

        await until(paused, 10, "pausedUntil in the document")
        doc_until, ready_until, metric_until = await quota_report(stack)
        assert doc_until is not None and doc_until == ready_until
        assert metric_until == doc_until / 1000
        assert (await stack.document())["stale"] is True
        assert (await stack.get("/readyz")).status_code == 200  # a pause alone is not 503

        # Restart the first poller: the leader changes, the pause holds.
        before = calls(sim)
        stack.procs["poller"].stop()
        stack.procs["poller"] = python("poller", ["-m", "poller"], stack.env)
        while time.time() * 1000 < doc_until - 500:
            await asyncio.sleep(0.2)
        assert calls(sim) == before, "a call during the quota pause"
        assert sim.calls_while_blocked == 0

        async def resumed() -> bool:
            doc = await stack.document()
            return doc["pausedUntil"] is None and not doc["stale"]

        await until(resumed, 15, "polling resumes when Retry-After has passed")
        assert (await quota_report(stack))[:2] == (None, None)


async def test_two_pollers_never_pass_the_daily_budget(redis_server: RedisServer) -> None:
    # 11 of 12 calls already spent in the last hour (an earlier poller's), so the budget
    # runs out within the first poll: pacing would otherwise stretch it over minutes.
    prefix = "budget2"
    store = Store(connect(redis_server.url), prefix)
    earlier = int(time.time() * 1000) - 3_600_000
    await store.redis.zadd(store.keys.spotify_calls, {f"old{i}": earlier + i for i in range(11)})
    await store.close()
    async with running_stack(
        redis_server, first_song=False, SPOTIFY_DAILY_BUDGET="12", REDIS_PREFIX=prefix
    ) as stack:
        stack.procs["poller2"] = python("poller2", ["-m", "poller"], stack.env)

        async def paused() -> bool:
            return (await stack.document())["pausedUntil"] is not None

        await until(paused, 20, "the budget is spent")
        await asyncio.sleep(3)
        assert calls(stack.sim) == 1  # the token refresh took the last call
        assert (await stack.document())["stale"] is True
        spotify = (await stack.get("/readyz")).json()["spotify"]
        assert (spotify["calls24h"], spotify["budget"]) == (12, 12)


async def test_a_rate_limit_429_without_reason_pauses_only_until_retry_after(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server) as stack:
        sim = stack.sim
        await asyncio.sleep(1.5)
        sim.faults.append(Fault("currently-playing", status=429, retry_after=3))
        await asyncio.sleep(1.5)
        assert (await stack.document())["pausedUntil"] is None
        await asyncio.sleep(3)
        assert sim.calls_while_blocked == 0
        assert await calls_during(sim, 3) >= 2
