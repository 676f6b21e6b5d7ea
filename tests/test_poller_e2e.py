"""The poller as it runs: scheduler, real redis-server, the simulator on a real socket."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest

from nowplaying.simulator.spotify import SimState, build_app, new_state
from poller.service import Poller
from shared.spotify import make_http_client
from shared.store import Store, connect
from tests.conftest import RedisServer, serve, sim_settings

pytestmark = pytest.mark.redis


@pytest.fixture
async def live_sim() -> AsyncIterator[tuple[SimState, str]]:
    state = new_state("http://127.0.0.1")
    async with serve(build_app(state)) as base:
        yield state, base


async def wait_for(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_the_scheduled_poller_keeps_redis_current(
    redis_server: RedisServer, live_sim: tuple[SimState, str]
) -> None:
    state, base = live_sim
    settings = sim_settings(base, poll_interval=1.0, redis_url=redis_server.url)
    store = Store(connect(redis_server.url), settings.redis_prefix)
    http = make_http_client(0.8)
    poller = Poller(settings, store, http)
    await poller.start()
    try:
        first = await wait_for(store.current)
        assert first["song"]["name"] == "Never Gonna Give You Up"
        beat = await store.heartbeat()
        assert beat is not None and beat["state"] in ("ok", "starting")
        state.player.skip(state.clock())

        async def changed() -> bool:
            doc = await store.current()
            return doc is not None and doc["song"]["name"] == "Midnight Circuits"

        await wait_for(changed, 5)
    finally:
        await poller.stop()
        await http.aclose()
        await store.close()


async def test_two_pollers_one_leader_and_failover(
    redis_server: RedisServer, live_sim: tuple[SimState, str]
) -> None:
    _, base = live_sim
    settings = sim_settings(base, poll_interval=1.0, redis_url=redis_server.url)
    stores = [Store(connect(redis_server.url), settings.redis_prefix) for _ in range(2)]
    https = [make_http_client(0.8) for _ in range(2)]
    pollers = [
        Poller(settings, s, h, instance_id=f"p{i}")
        for i, (s, h) in enumerate(zip(stores, https, strict=True))
    ]
    for p in pollers:
        p.leader_ttl_ms = 1500
        await p.start()
    try:
        await asyncio.sleep(2.0)
        assert sorted(p.is_leader for p in pollers) == [False, True]
        leader = next(p for p in pollers if p.is_leader)
        other = next(p for p in pollers if not p.is_leader)
        assert other.polls == 0
        # The leader dies without releasing the lock.
        assert leader.timer is not None
        leader.timer.stop()
        leader.timer = None
        died = time.monotonic()

        async def took_over() -> bool:
            return other.is_leader and other.polls > 0

        await wait_for(took_over, 6)
        assert time.monotonic() - died <= 2 * 1.5 + 0.5
    finally:
        for p, s, h in zip(pollers, stores, https, strict=True):
            await p.stop()
            await h.aclose()
            await s.close()


async def test_sigterm_stops_the_poller_process_within_two_seconds(
    redis_server: RedisServer, live_sim: tuple[SimState, str]
) -> None:
    _, base = live_sim
    env = os.environ | {
        "SPOTIFY_CLIENT_ID": "sim-client-id",
        "SPOTIFY_CLIENT_SECRET": "sim-client-secret",
        "SPOTIFY_REFRESH_TOKEN": "sim-refresh-token",
        "SPOTIFY_ACCOUNTS_URL": base,
        "SPOTIFY_API_URL": f"{base}/v1",
        "REDIS_URL": redis_server.url,
        "POLL_INTERVAL": "1",
        "REDIS_PREFIX": "sigterm",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "poller",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store = Store(connect(redis_server.url), "sigterm")
    try:
        await wait_for(store.current, 15)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        await asyncio.wait_for(process.wait(), 5)
        assert time.monotonic() - started < 2.0
        assert process.returncode == 0
        assert await store.redis.get(store.keys.leader) is None
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()
        assert "sim-client-secret" not in log and "sim-refresh-token" not in log
        json.dumps(log)
    finally:
        if process.returncode is None:
            process.kill()
        await store.close()
