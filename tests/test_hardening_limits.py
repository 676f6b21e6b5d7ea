"""Request heads capped at 16 KiB, a deadline for heads, and
caps on open streams per process and per client address, on real uvicorn sockets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from web.app import WebRuntime, build_app
from web.http_limits import (
    FDS_PER_EXTRA_CONNECTION,
    MAX_HEAD_BYTES,
    LimitedHttpToolsProtocol,
    uvicorn_options,
)
from web.stream_limits import StreamLimiter, client_key


def test_stream_limiter_refuses_past_the_per_client_cap_and_frees_on_release() -> None:
    limiter = StreamLimiter(per_process=10, per_client=2)
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") == "client"
    assert limiter.acquire("b") is None
    limiter.release("a")
    assert limiter.acquire("a") is None
    assert limiter.refused["client"] == 1


def test_stream_limiter_refuses_past_the_per_process_cap() -> None:
    limiter = StreamLimiter(per_process=2, per_client=5)
    assert limiter.acquire("a") is None and limiter.acquire("b") is None
    assert limiter.acquire("c") == "process"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1::/56"),
        ("2001:db8:1:ff:ffff::1", "2001:db8:1::/56"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, ""),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_56(address: str | None, key: str) -> None:
    assert client_key(address) == key


@contextlib.asynccontextmanager
async def web(store: Store, **values: object) -> AsyncIterator[str]:
    settings = Settings(redis_prefix=store.keys.prefix, **values)  # type: ignore[arg-type]
    runtime = WebRuntime(settings, store)
    async with serve(build_app(runtime), **uvicorn_options(settings)) as base:
        yield base
    await runtime.http.aclose()


async def raw_request(base: str, data: bytes, chunk: int = 65536) -> bytes:
    """Send `data` in chunks, then read the answer until the server closes or 5 s pass."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                break
        return await asyncio.wait_for(reader.read(65536), 5)
    except ConnectionError:
        return b""
    finally:
        writer.close()


def head_with(header_bytes: int) -> bytes:
    return (
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: "
        + b"a" * header_bytes
        + b"\r\nConnection: close\r\n\r\n"
    )


async def test_a_head_past_16_kib_is_refused_with_431(fake_store: Store) -> None:
    async with web(fake_store) as base:
        answer = await raw_request(base, head_with(MAX_HEAD_BYTES + 1024))
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_refusal_before_the_app_carries_the_headers_of_every_answer(
    fake_store: Store,
) -> None:
    async with web(fake_store) as base:
        answer = await raw_request(base, head_with(MAX_HEAD_BYTES + 1024))
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\nx-content-type-options: nosniff\r\n" in head
    assert b"\r\nreferrer-policy: no-referrer" in head


async def test_an_unparsable_request_is_answered_400_with_the_headers_of_every_answer(
    fake_store: Store,
) -> None:
    async with web(fake_store) as base:
        answer = await raw_request(base, b"NOT A REQUEST\r\n\r\n")
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400 ")
    assert b"\r\nx-content-type-options: nosniff\r\n" in head
    assert b"\r\nreferrer-policy: no-referrer" in head


@contextlib.asynccontextmanager
async def at_the_connection_cap(
    store: Store,
) -> AsyncIterator[tuple[str, asyncio.StreamReader, asyncio.StreamWriter]]:
    """A server whose connection cap (uvicorn's `limit_concurrency`, 2 here) is met: a
    stream open on the connection yielded (its first event read), an idle one beside it."""
    settings = Settings(redis_prefix=store.keys.prefix)
    runtime = WebRuntime(settings, store)
    options = uvicorn_options(settings) | {"limit_concurrency": 2}
    try:
        async with serve(build_app(runtime), **options) as base:
            parts = urlsplit(base)
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            writer.write(b"GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n")
            await asyncio.wait_for(reader.readuntil(b"event: now-playing"), 5)
            _, idle = await asyncio.open_connection(parts.hostname, parts.port)
            await asyncio.sleep(0.2)  # accepted: the cap is met
            try:
                yield base, reader, writer
            finally:
                writer.close()
                idle.close()
    finally:
        await runtime.http.aclose()


async def test_the_connection_cap_refusal_carries_the_headers_of_every_answer(
    fake_store: Store,
) -> None:
    """uvicorn's own 503 past `limit_concurrency` carries neither header: it is ours."""
    async with at_the_connection_cap(fake_store) as (base, _, _):
        refused = await raw_request(base, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    head = refused.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 503 ")
    assert b"\r\nx-content-type-options: nosniff\r\n" in head
    assert b"\r\nreferrer-policy: no-referrer" in head


async def test_a_websocket_upgrade_is_served_as_http_with_the_headers_of_every_answer(
    fake_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """No route speaks WebSocket: uvicorn's bare 403 handshake refusal is never written."""
    upgrade = (
        b"GET /api/now-playing HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    async with web(fake_store) as base:
        answer = await raw_request(base, upgrade)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200 ")
    assert b"\r\nx-content-type-options: nosniff\r\n" in head
    assert "upgrade" not in caplog.text.lower()


async def test_a_head_under_16_kib_is_served(fake_store: Store) -> None:
    async with web(fake_store) as base:
        answer = await raw_request(base, head_with(MAX_HEAD_BYTES - 1024))
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_a_huge_head_is_cut_off_while_it_streams_in(fake_store: Store) -> None:
    async with web(fake_store) as base:
        started = time.monotonic()
        answer = await raw_request(base, head_with(20 * 1024 * 1024), chunk=16384)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 431 ") or answer == b""
    assert took < 5  # refused early, not after reading 20 MB


async def test_a_head_that_never_finishes_is_closed_after_the_header_timeout(
    fake_store: Store,
) -> None:
    async with web(fake_store, header_timeout=1.0) as base:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        answer = b""
        for _ in range(10):  # a header line now and then, never the end of the head
            try:
                answer = await asyncio.wait_for(reader.read(), 0.3)
                break
            except TimeoutError:
                writer.write(b"X-Slow: 1\r\n")
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 3


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    fake_store: Store,
) -> None:
    async with web(fake_store, header_timeout=1.0) as base:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        started = time.monotonic()
        await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert 0.8 < time.monotonic() - started < 3


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


async def kept_alive(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """A connection that has had one answered request: its reader, writer and answer."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(HEALTHZ)
    return reader, writer, await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5)


async def test_a_kept_alive_connection_gets_a_new_deadline_for_its_next_head(
    fake_store: Store,
) -> None:
    async with web(fake_store, header_timeout=1.0) as base:
        reader, writer, first = await kept_alive(base)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")  # never finished
        second = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert first.startswith(b"HTTP/1.1 200 ") and second.startswith(b"HTTP/1.1 408 ")


async def test_an_idle_kept_alive_connection_is_not_answered_408(
    fake_store: Store,
) -> None:
    """Between requests the keep-alive timeout governs, not the header timeout."""
    async with web(fake_store, header_timeout=1.0) as base:
        reader, writer, first = await kept_alive(base)
        with contextlib.suppress(TimeoutError):  # nothing may arrive while idle
            idle = await asyncio.wait_for(reader.read(100), 2.5)
            raise AssertionError(f"an idle keep-alive connection got {idle!r}")
        writer.write(HEALTHZ)
        second = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5)
        writer.close()
    assert first.startswith(b"HTTP/1.1 200 ") and second.startswith(b"HTTP/1.1 200 ")


async def open_stream(
    client: httpx.AsyncClient, base: str, stack: contextlib.AsyncExitStack, **headers: str
) -> httpx.Response:
    return await stack.enter_async_context(
        client.stream("GET", f"{base}/api/stream", headers=headers)
    )


async def test_streams_past_the_per_client_cap_get_a_clear_503(fake_store: Store) -> None:
    async with (
        web(fake_store, max_streams_per_client=2) as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        statuses = [(await open_stream(client, base, stack)).status_code for _ in range(3)]
        third = await client.get(f"{base}/api/stream")
        metrics = (await client.get(f"{base}/metrics")).text
    assert statuses == [200, 200, 503]
    assert third.status_code == 503 and "your address" in third.text
    assert third.headers["retry-after"] == "30"
    assert 'nowplaying_sse_streams_refused_total{cap="client"} 2.0' in metrics


async def test_a_refused_stream_carries_the_headers_of_every_answer(fake_store: Store) -> None:
    async with (
        web(fake_store, max_streams_per_client=1) as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        await open_stream(client, base, stack)
        refused = await client.get(f"{base}/api/stream")
    assert refused.status_code == 503
    assert refused.headers["x-content-type-options"] == "nosniff"
    assert refused.headers["referrer-policy"] == "no-referrer"


async def test_a_refused_stream_answers_cors_like_the_rest_of_api(fake_store: Store) -> None:
    """A cross-origin widget must be able to read that the stream is full, not a CORS error."""
    origin = "https://blog.example"
    async with (
        web(fake_store, max_streams_per_client=1, cors_origins=(origin,)) as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        await open_stream(client, base, stack)
        refused = await client.get(f"{base}/api/stream", headers={"Origin": origin})
    assert refused.status_code == 503
    assert refused.headers["access-control-allow-origin"] == origin


async def test_a_closed_stream_frees_its_place(fake_store: Store) -> None:
    async with (
        web(fake_store, max_streams_per_client=1) as base,
        httpx.AsyncClient(timeout=5) as client,
    ):
        for _ in range(3):
            async with client.stream("GET", f"{base}/api/stream") as response:
                assert response.status_code == 200
            await asyncio.sleep(0.1)


async def statuses_from(
    store: Store, forwarded_for: list[str], **limits: object
) -> tuple[list[int], str]:
    """The status of one stream per X-Forwarded-For value, all held open, and /metrics."""
    async with (
        web(store, **limits) as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        statuses = []
        for address in forwarded_for:
            headers = {"X-Forwarded-For": address}
            statuses.append((await open_stream(client, base, stack, **headers)).status_code)
        return statuses, (await client.get(f"{base}/metrics")).text


async def test_streams_past_the_per_process_cap_get_a_503(fake_store: Store) -> None:
    clients = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    statuses, metrics = await statuses_from(
        fake_store, clients, max_streams=2, forwarded_allow_ips="127.0.0.1"
    )
    assert statuses == [200, 200, 503]
    assert 'nowplaying_sse_streams_refused_total{cap="process"} 1.0' in metrics


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(fake_store: Store) -> None:
    statuses, _ = await statuses_from(
        fake_store,
        ["203.0.113.1", "203.0.113.2"],
        max_streams_per_client=1,
        forwarded_allow_ips="10.9.9.9",
    )
    assert statuses == [200, 503]  # both are the untrusted peer 127.0.0.1


async def test_behind_a_trusted_proxy_each_client_has_its_own_cap(fake_store: Store) -> None:
    statuses, _ = await statuses_from(
        fake_store,
        ["203.0.113.1", "203.0.113.2", "203.0.113.1"],
        max_streams_per_client=1,
        forwarded_allow_ips="127.0.0.1",
    )
    assert statuses == [200, 200, 503]


def test_the_web_commands_server_config_carries_the_limits() -> None:
    from web.server import uvicorn_config

    config = uvicorn_config(object(), "127.0.0.1", 8000, Settings(max_streams=50))
    assert issubclass(config.http, LimitedHttpToolsProtocol)  # type: ignore[arg-type]
    assert config.limit_concurrency == 50 + FDS_PER_EXTRA_CONNECTION
    assert config.forwarded_allow_ips == "127.0.0.1" and config.proxy_headers


def test_a_short_file_descriptor_limit_lowers_the_connection_cap_below_it() -> None:
    options = uvicorn_options(Settings(max_streams=1000), file_descriptors=1024)
    assert options["limit_concurrency"] == 1024 - 64
    assert uvicorn_options(Settings(max_streams=10), 65536)["limit_concurrency"] == 10 + 256


async def test_an_unparsable_next_request_never_writes_a_400_into_an_open_stream(
    fake_store: Store,
) -> None:
    async with web(fake_store) as base:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"event: now-playing"), 5)
        writer.write(b"NOT A REQUEST\r\n\r\n")  # pipelined garbage
        rest = await asyncio.wait_for(reader.read(), 5)  # the connection is closed
        writer.close()
    assert b"HTTP/1.1 400" not in rest


async def test_an_unparsable_request_after_a_finished_answer_is_still_answered_400(
    fake_store: Store,
) -> None:
    async with web(fake_store) as base:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.write(b"NOT A REQUEST\r\n\r\n")  # on the same keep-alive connection
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert first.startswith(b"HTTP/1.1 200 ") and b"HTTP/1.1 400 " in rest


async def test_a_request_pipelined_past_the_connection_cap_never_writes_a_503_into_a_stream(
    fake_store: Store,
) -> None:
    async with at_the_connection_cap(fake_store) as (_, reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")  # pipelined
        rest = b""
        with contextlib.suppress(TimeoutError):
            rest = await asyncio.wait_for(reader.read(), 2)  # closed, or still streaming
    assert b"HTTP/1.1 503" not in rest


async def test_a_half_sent_next_head_never_writes_a_408_into_an_open_stream(
    fake_store: Store,
) -> None:
    async with web(fake_store, header_timeout=1.0) as base:
        parts = urlsplit(base)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(b"GET /api/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"event: now-playing"), 5)
        writer.write(b"GET /healthz HTTP/1.1\r\n")  # pipelined, never finished
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.readuntil(b"HTTP/1.1 408"), 2)
            pytest.fail("a 408 was written into the stream")
        writer.close()
