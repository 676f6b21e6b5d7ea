"""The web app on a real redis-server: the subscription survives a Redis restart."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from shared.config import Settings
from shared.store import Store, connect
from tests.conftest import RedisServer, serve
from tests.webutil import SSEReader, publish
from web.app import WebRuntime, build_app

pytestmark = pytest.mark.redis


async def test_the_stream_delivers_the_next_change_after_redis_restarts(
    redis_server: RedisServer,
) -> None:
    settings = Settings(redis_url=redis_server.url, redis_prefix="restart", sse_ping_interval=1)
    writer = Store(connect(redis_server.url), "restart")
    await publish(writer, "Before Restart")
    runtime = WebRuntime(settings, Store(connect(redis_server.url), "restart"))
    async with (
        serve(build_app(runtime)) as base,
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", f"{base}/api/stream") as r,
    ):
        reader = SSEReader(r)
        assert (await reader.event())["data"]["song"]["name"] == "Before Restart"
        redis_server.stop()
        await asyncio.sleep(1.5)
        redis_server.start()
        # Redis came back empty; the poller continues above its last version.
        await writer.redis.connection_pool.disconnect()
        deadline = time.monotonic() + 15
        while not runtime.hub.redis_ok or runtime.hub.reconnects == 0:
            assert time.monotonic() < deadline, "the subscription did not come back"
            await asyncio.sleep(0.1)
        await writer.publish(None, stale=False, demo=False, now_ms=1, floor_version=1)
        while True:
            event = await reader.event(timeout=10)
            if event["data"]["song"] is None:
                break
        assert int(event["id"]) == 2
    await writer.close()
    await runtime.store.close()


async def test_the_watchdog_marks_the_document_stale_when_the_heartbeat_stops(
    redis_server: RedisServer,
) -> None:
    settings = Settings(redis_url=redis_server.url, redis_prefix="watchdog", poll_interval=1)
    store = Store(connect(redis_server.url), "watchdog")
    await publish(store, "Still Here")
    await store.write_heartbeat({"at": int(time.time() * 1000) - 60_000})
    runtime = WebRuntime(settings, Store(connect(redis_server.url), "watchdog"))
    async with serve(build_app(runtime)) as base, httpx.AsyncClient() as client:
        deadline = time.monotonic() + 10
        while True:
            doc = (await client.get(f"{base}/api/now-playing")).json()
            if doc["stale"]:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert doc["song"]["name"] == "Still Here" and doc["version"] == 2
    await store.close()
    await runtime.store.close()
