"""What one anonymous client can hold, against `python -m web` as users run it.

Oversized and never-finished request heads, a crowd of streams from one address, and an
endless album-art body, each in a bounded loop on loopback; meanwhile /healthz answers
at once and the web process's memory stays where it was."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.procs import rss_kb
from bench.sse_client import open_crowd
from shared.store import Store, connect
from tests.conftest import RedisServer
from tests.reliability.conftest import Stack, running_stack, until

HEADER_TIMEOUT = "2"
PER_CLIENT = 8


async def healthz_s(stack: Stack) -> float:
    started = time.monotonic()
    assert (await stack.get("/healthz")).status_code == 200
    return time.monotonic() - started


async def send_head(port: int, head: bytes, chunk: int = 16384) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for start in range(0, len(head), chunk):
            writer.write(head[start : start + chunk])
            await asyncio.wait_for(writer.drain(), 5)
    except (ConnectionError, TimeoutError):
        pass
    try:
        return await asyncio.wait_for(reader.read(4096), 5)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_oversized_heads_are_refused_and_healthz_stays_fast(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server, HEADER_TIMEOUT=HEADER_TIMEOUT) as stack:
        web = stack.procs["web"].pid
        before = rss_kb(web)
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (50 * 1024 * 1024)
        pushes = [asyncio.create_task(send_head(stack.web_port, big)) for _ in range(5)]
        slowest = max([await healthz_s(stack) for _ in range(10)])
        answers = await asyncio.gather(*pushes)
        assert all(a.startswith(b"HTTP/1.1 431 ") or a == b"" for a in answers)
        assert slowest < 1.0
        assert rss_kb(web) - before < 30_000


async def test_heads_that_never_finish_are_closed_after_header_timeout(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server, HEADER_TIMEOUT=HEADER_TIMEOUT) as stack:
        sockets = []
        for _ in range(300):
            reader, writer = await asyncio.open_connection("127.0.0.1", stack.web_port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            sockets.append((reader, writer))
        assert await healthz_s(stack) < 1.0
        started = time.monotonic()
        closed = await asyncio.gather(
            *(asyncio.wait_for(reader.read(), 10) for reader, _ in sockets)
        )
        assert all(c.startswith(b"HTTP/1.1 408 ") for c in closed)
        assert time.monotonic() - started < float(HEADER_TIMEOUT) + 3
        for _, writer in sockets:
            writer.close()


async def test_a_crowd_of_streams_from_one_address_stops_at_its_cap(
    redis_server: RedisServer,
) -> None:
    async with running_stack(redis_server, MAX_STREAMS_PER_CLIENT=str(PER_CLIENT)) as stack:
        crowd = await open_crowd("127.0.0.1", stack.web_port, "/api/stream", 200, timeout_s=5)
        try:
            await asyncio.sleep(0.5)
            open_ = [c for c in crowd.connections if getattr(c, "status", 0) == 200]
            closed = [c for c in crowd.connections if c.closed.done()]
            refused = await stack.get("/api/stream")
            metrics = (await stack.get("/metrics")).text
            assert refused.status_code == 503 and "your address" in refused.text
            assert len(open_) == PER_CLIENT and len(closed) == 200 - PER_CLIENT
            assert await healthz_s(stack) < 1.0
            assert 'nowplaying_sse_streams_refused_total{cap="client"}' in metrics
        finally:
            for connection in crowd.connections:
                connection.close()


def endless_art(app: ASGIApp) -> ASGIApp:
    """The simulator, plus an image on its origin that never ends (1 GiB if read)."""

    async def front(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/art/endless.png":

            async def body():  # type: ignore[no-untyped-def]
                for _ in range(16384):
                    yield b"\x00" * 65536

            response = StreamingResponse(body(), media_type="image/png")
            await response(scope, receive, send)
            return
        await app(scope, receive, send)

    return front


async def test_an_endless_art_body_is_dropped_at_the_cap(redis_server: RedisServer) -> None:
    async with running_stack(redis_server, sim_front=endless_art) as stack:
        web = stack.procs["web"].pid
        store = Store(connect(redis_server.url), stack.env["REDIS_PREFIX"])
        before = rss_kb(web)

        def endless(stored):  # type: ignore[no-untyped-def]
            song = dict(stored["song"]) | {"albumImageUrl": f"{stack.sim_url}/art/endless.png"}
            return stored | {"version": stored["version"] + 1, "song": song}

        document = await store.transition(endless)
        assert document is not None

        async def served() -> bool:
            return (await stack.document())["version"] >= document["version"]

        await until(served, 10, "the web serves the document with the endless art")
        started = time.monotonic()
        with contextlib.suppress(httpx.ReadTimeout):
            svg = await stack.get("/embed.svg", timeout=10)
            assert svg.status_code == 200 and "data:image/png" not in svg.text
        assert time.monotonic() - started < 5
        await asyncio.sleep(3)  # the fetch goes on in the background for up to 2.8 s
        assert rss_kb(web) - before < 30_000
        await store.close()
