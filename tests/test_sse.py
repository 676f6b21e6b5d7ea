"""The SSE stream over real uvicorn sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from tests.webutil import SSEReader, document, publish, raw
from web.app import WebRuntime, build_app
from web.hub import SEND_TIMEOUT_S
from web.server import Server


@pytest.fixture
async def live(fake_store: Store) -> AsyncIterator[tuple[WebRuntime, str]]:
    settings = Settings(redis_prefix=fake_store.keys.prefix, sse_ping_interval=0.5)
    runtime = WebRuntime(settings, fake_store)
    await publish(fake_store, "First Song")
    async with serve(build_app(runtime)) as base:
        yield runtime, base


async def test_the_stream_starts_with_retry_then_the_current_document(
    live: tuple[WebRuntime, str],
) -> None:
    _, base = live
    async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        reader = SSEReader(r)
        first = await reader.frame()
        assert first["retry"] == "3000"
        assert first["event"] == "now-playing" and first["id"] == "1"
        assert json.loads(first["data"])["song"]["name"] == "First Song"


async def test_the_first_lines_are_retry_then_event_then_id_then_data(
    live: tuple[WebRuntime, str],
) -> None:
    _, base = live
    async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
        lines = r.aiter_lines()
        first = [await asyncio.wait_for(anext(lines), 5) for _ in range(4)]
    names = [line.partition(":")[0] for line in first]
    assert names == ["retry", "event", "id", "data"]
    assert first[1] == "event: now-playing" and first[2] == "id: 1"


async def test_a_published_change_arrives_on_the_open_stream(
    live: tuple[WebRuntime, str], fake_store: Store
) -> None:
    _, base = live
    async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
        reader = SSEReader(r)
        await reader.event()
        await publish(fake_store, "Second Song")
        event = await reader.event(timeout=5)
        assert event["id"] == "2" and event["data"]["song"]["name"] == "Second Song"


async def test_last_event_id_equal_to_the_current_version_skips_the_initial_event(
    live: tuple[WebRuntime, str], fake_store: Store
) -> None:
    _, base = live
    headers = {"Last-Event-ID": "1"}
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", f"{base}/api/stream", headers=headers) as r,
    ):
        reader = SSEReader(r)
        await reader.frame()  # retry
        assert (await reader.frame())["comment"] == "ping"  # no event came before the ping
        await publish(fake_store, "Second Song")
        assert (await reader.event())["id"] == "2"


async def test_an_older_last_event_id_gets_the_current_document(
    live: tuple[WebRuntime, str],
) -> None:
    _, base = live
    async with (
        httpx.AsyncClient() as client,
        client.stream("GET", f"{base}/api/stream", headers={"Last-Event-ID": "0"}) as r,
    ):
        assert (await SSEReader(r).event())["id"] == "1"


async def test_an_idle_stream_gets_ping_comments(live: tuple[WebRuntime, str]) -> None:
    _, base = live
    async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
        reader = SSEReader(r)
        await reader.event()
        assert (await reader.frame(timeout=3))["comment"] == "ping"


async def test_a_disconnected_client_is_cleaned_up_within_one_ping_interval(
    live: tuple[WebRuntime, str],
) -> None:
    runtime, base = live
    async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
        await SSEReader(r).event()
        assert len(runtime.hub.subscribers) == 1
    deadline = time.monotonic() + 0.5 + 0.5
    while runtime.hub.subscribers and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert len(runtime.hub.subscribers) == 0


async def test_a_client_that_stops_reading_does_not_delay_the_others(
    live: tuple[WebRuntime, str], fake_store: Store
) -> None:
    _, base = live
    port = int(base.rsplit(":", 1)[1])
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        async with httpx.AsyncClient() as client, client.stream("GET", f"{base}/api/stream") as r:
            reader = SSEReader(r)
            await reader.event()
            for i in range(30):
                await publish(fake_store, f"Song {i}")
            started = time.monotonic()
            while (await reader.event(timeout=5))["data"]["song"]["name"] != "Song 29":
                pass
            assert time.monotonic() - started < 5
    finally:
        stalled.close()


async def test_shutdown_with_open_streams_finishes_within_two_seconds(fake_store: Store) -> None:
    settings = Settings(
        redis_prefix=fake_store.keys.prefix, max_streams=1000, max_streams_per_client=1000
    )
    runtime = WebRuntime(settings, fake_store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(runtime), log_config=None, access_log=False, timeout_graceful_shutdown=1
    )
    server = Server(config, runtime)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    limits = httpx.Limits(max_connections=300)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        streams = []
        for _ in range(200):
            ctx = client.stream("GET", f"http://127.0.0.1:{port}/api/stream")
            streams.append((ctx, await ctx.__aenter__()))
        while len(runtime.hub.subscribers) < 200:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        server.request_shutdown()
        await asyncio.wait_for(task, 5)
        assert time.monotonic() - started < 2.0
        for ctx, _ in streams:
            await ctx.__aexit__(None, None, None)
    sock.close()


async def test_a_client_that_never_reads_is_dropped_once_its_send_times_out(
    live: tuple[WebRuntime, str],
) -> None:
    runtime, base = live
    hub = runtime.hub
    port = int(base.rsplit(":", 1)[1])
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    stalled.sendall(b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    while not hub.subscribers:
        await asyncio.sleep(0.01)
    subscriber = next(iter(hub.subscribers))
    version = hub.version
    for _ in range(200):  # big frames until the socket buffers are full and a send waits
        if subscriber.sending_since:
            break
        version += 1
        hub.update(raw(document(version, "x" * 200_000)))
        await asyncio.sleep(0.01)
    assert subscriber.sending_since, "the stalled client's buffers never filled"
    assert hub.reap_stuck(time.monotonic() + SEND_TIMEOUT_S + 1) == 1
    while hub.subscribers:
        await asyncio.sleep(0.01)
    assert hub.slow_dropped == 1
    stalled.settimeout(5)
    with contextlib.suppress(ConnectionResetError):
        while await asyncio.to_thread(stalled.recv, 1 << 20):
            pass  # the server ends the connection once what it had queued is read
    stalled.close()
