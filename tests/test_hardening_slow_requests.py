"""Over real sockets and real uvicorn: slow and unwanted request
bodies are cut, and one address cannot hold more than its share of connections, while
/healthz from another address keeps answering 200."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from web.app import WebRuntime, build_app
from web.http_limits import MAX_HEAD_BYTES, protocol_class, uvicorn_options
from web.stream_limits import client_key

ATTACKER = "127.0.0.3"  # every 127/8 address reaches the loopback server
VIEWER = "127.0.0.2"


@contextlib.asynccontextmanager
async def web(
    store: Store, body_limits: dict[str, int] | None = None, **values: Any
) -> AsyncIterator[tuple[str, int]]:
    settings = Settings(redis_prefix=store.keys.prefix, **values)
    runtime = WebRuntime(settings, store)
    options = uvicorn_options(settings)
    if body_limits is not None:  # no route of the app takes a body: a test gives one
        options["http"] = protocol_class(
            MAX_HEAD_BYTES,
            settings.header_timeout,
            body_limits=body_limits,
            max_connections_per_client=settings.max_connections_per_client,
            forwarded_allow_ips=settings.forwarded_allow_ips,
        )
    async with serve(build_app(runtime), **options) as base:
        yield base, urlsplit(base).port or 0
    await runtime.http.aclose()


async def connect(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def drip(port: int, head: bytes, every_s: float, after_s: float = 0.0) -> tuple[float, bytes]:
    """After `after_s`, send `head`, then one body byte every `every_s` until the server
    closes: how long the connection lived, and what the server answered."""
    await asyncio.sleep(after_s)
    reader, writer = await connect(port, ATTACKER)
    started = time.monotonic()
    writer.write(head)
    answer = b""
    try:
        while True:
            try:
                answer += await asyncio.wait_for(reader.read(4096), every_s)
                if reader.at_eof():
                    break
            except TimeoutError:
                writer.write(b"a" if b"chunked" not in head else b"1\r\na\r\n")
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def healthz_statuses(port: int, seconds: float) -> list[int]:
    """/healthz from the viewer's address, a new connection every 0.1 s for `seconds`."""
    statuses = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            reader, writer = await connect(port, VIEWER)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            line = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            statuses.append(int(line.split()[1]) if line else 0)
        except (ConnectionError, TimeoutError):
            statuses.append(0)
        await asyncio.sleep(0.1)
    return statuses


GET_WITH_BODY = b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"
CHUNKED_POST = b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"


async def test_hundreds_of_slow_bodies_are_cut_and_healthz_answers_throughout(
    fake_store: Store,
) -> None:
    """The issue's attack, opened over 2 s, more than the global connection cap
    (MAX_STREAMS + 256 = 257): GETs announcing a megabyte and sending a byte every 2 s,
    and chunked POST drips. Held, they would fill every slot after 1.3 s."""
    async with web(fake_store, max_streams=1, max_connections_per_client=1000) as (_, port):
        attack = [drip(port, GET_WITH_BODY, 2.0, i * 0.005) for i in range(300)]
        attack += [drip(port, CHUNKED_POST, 2.0, 0.0025 + i * 0.02) for i in range(100)]
        results, statuses = await asyncio.gather(
            asyncio.gather(*attack), healthz_statuses(port, 3.0)
        )
    lived = [took for took, _ in results]
    assert set(statuses) == {200}, statuses
    assert max(lived) < 2.0  # each refused from its head, before its first body byte
    assert all(answer.startswith(b"HTTP/1.1 400 ") for _, answer in results[:300])
    assert all(answer.startswith(b"HTTP/1.1 413 ") for _, answer in results[300:])


async def test_a_get_with_a_body_is_answered_400_before_the_body_arrives(
    fake_store: Store,
) -> None:
    async with web(fake_store) as (_, port):
        reader, writer = await connect(port, ATTACKER)
        writer.write(GET_WITH_BODY)
        answer = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400 ")


async def test_a_get_with_content_length_zero_is_served(fake_store: Store) -> None:
    async with web(fake_store) as (_, port):
        reader, writer = await connect(port, ATTACKER)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 2)
        writer.close()
    assert line.startswith(b"HTTP/1.1 200 ")


async def test_a_body_past_the_routes_limit_is_refused_413_from_its_head(
    fake_store: Store,
) -> None:
    async with web(fake_store, body_limits={"/healthz": 100}) as (_, port):
        reader, writer = await connect(port, ATTACKER)
        writer.write(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 ")


async def test_a_chunked_body_is_cut_at_the_routes_limit(fake_store: Store) -> None:
    async with web(fake_store, body_limits={"/healthz": 100}) as (_, port):
        reader, writer = await connect(port, ATTACKER)
        writer.write(CHUNKED_POST + b"c8\r\n" + b"a" * 200 + b"\r\n")
        answer = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize(
    "head",
    [
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n",
        CHUNKED_POST,
    ],
    ids=["content-length", "chunked"],
)
async def test_a_body_allowed_by_its_route_but_dripped_is_cut_at_the_request_deadline(
    fake_store: Store, head: bytes
) -> None:
    """Each byte arrives well inside HEADER_TIMEOUT; the request as a whole does not.
    The app answers POST /healthz 405 without reading the body: uvicorn would then keep
    the connection for as long as the drip goes on; the deadline closes it."""
    async with web(fake_store, body_limits={"/healthz": 2_000_000}, header_timeout=1.0) as (
        _,
        port,
    ):
        results, statuses = await asyncio.gather(
            asyncio.gather(*(drip(port, head, 0.2) for _ in range(50))),
            healthz_statuses(port, 2.0),
        )
    assert set(statuses) == {200}
    for took, answer in results:
        assert 0.8 < took < 2.5
        assert answer[:13] in (b"HTTP/1.1 405 ", b"HTTP/1.1 408 ")


async def test_one_address_cannot_hold_more_connections_than_its_cap(fake_store: Store) -> None:
    async with web(fake_store, max_connections_per_client=5) as (_, port):
        held = [await connect(port, ATTACKER) for _ in range(5)]
        reader, writer = await connect(port, ATTACKER)
        refused = await asyncio.wait_for(reader.read(), 2)
        writer.close()
        statuses = await healthz_statuses(port, 0.3)  # another address: its own cap
        held.pop()[1].close()
        await asyncio.sleep(0.2)
        reader, writer = await connect(port, ATTACKER)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        again = await asyncio.wait_for(reader.readline(), 2)
        writer.close()
        for _, w in held:
            w.close()
    assert refused.startswith(b"HTTP/1.1 503 ")
    assert set(statuses) == {200}
    assert again.startswith(b"HTTP/1.1 200 ")


async def test_a_trusted_proxy_is_not_held_to_the_per_address_cap(fake_store: Store) -> None:
    async with web(fake_store, max_connections_per_client=2, forwarded_allow_ips=ATTACKER) as (
        _,
        port,
    ):
        held = [await connect(port, ATTACKER) for _ in range(4)]
        reader, writer = held[-1]
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        line = await asyncio.wait_for(reader.readline(), 2)
        for _, w in held:
            w.close()
    assert line.startswith(b"HTTP/1.1 200 ")


def test_ipv6_clients_are_counted_by_56_unless_configured() -> None:
    assert client_key("2001:db8:0:ff:1::1") == "2001:db8::/56"
    assert client_key("2001:db8:0:ff:1::1", 64) == "2001:db8:0:ff::/64"
