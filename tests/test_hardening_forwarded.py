"""X-Forwarded-For from a peer outside FORWARDED_ALLOW_IPS changes nothing: over real
sockets the stream cap and the admin-token throttle still key on the real peer, and the
header is logged once per peer per interval (a spoofing client, or a proxy in front that
is not trusted and makes every client share one address)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.conftest import serve
from web.app import WebRuntime, build_app
from web.http_limits import ForwardedLog, LimitedHttpToolsProtocol, uvicorn_options

ADMIN = "admin-token-for-tests-0123456789"
UNTRUSTED = "10.9.9.9"  # the test's peer is 127.0.0.1, so not a trusted proxy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def forwarded_log(monkeypatch: pytest.MonkeyPatch) -> ForwardedLog:
    fresh = ForwardedLog(logging.getLogger("nowplaying.web"))
    monkeypatch.setattr(LimitedHttpToolsProtocol, "forwarded", fresh)
    return fresh


@contextlib.asynccontextmanager
async def web(store: Store, **values: object) -> AsyncIterator[str]:
    settings = Settings(redis_prefix=store.keys.prefix, admin_token=ADMIN, **values)  # type: ignore[arg-type]
    runtime = WebRuntime(settings, store)
    async with serve(build_app(runtime), **uvicorn_options(settings)) as base:
        yield base
    await runtime.http.aclose()


def spoofed(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{i}"}


async def test_spoofed_forwarded_for_from_an_untrusted_peer_shares_the_peers_stream_cap(
    fake_store: Store, forwarded_log: ForwardedLog
) -> None:
    async with (
        web(fake_store, max_streams_per_client=2, forwarded_allow_ips=UNTRUSTED) as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        statuses = []
        for i in range(4):
            request = client.stream("GET", f"{base}/api/stream", headers=spoofed(i))
            statuses.append((await stack.enter_async_context(request)).status_code)
    assert statuses == [200, 200, 503, 503]


async def wrong_tokens(base: str, count: int) -> list[int]:
    async with httpx.AsyncClient(timeout=5) as client:
        return [
            (
                await client.get(f"{base}/login", params={"token": "wrong"}, headers=spoofed(i))
            ).status_code
            for i in range(count)
        ]


async def test_spoofed_forwarded_for_from_an_untrusted_peer_shares_the_admin_throttle(
    fake_store: Store, forwarded_log: ForwardedLog
) -> None:
    async with web(fake_store, forwarded_allow_ips=UNTRUSTED) as base:
        statuses = await wrong_tokens(base, 7)
    assert statuses == [403] * 5 + [429, 429]


async def test_from_a_trusted_proxy_each_forwarded_client_has_its_own_throttle(
    fake_store: Store, forwarded_log: ForwardedLog
) -> None:
    """The contrast: the same requests from a trusted peer count per forwarded client."""
    async with web(fake_store, forwarded_allow_ips="127.0.0.1") as base:
        statuses = await wrong_tokens(base, 7)
    assert statuses == [403] * 7
    assert forwarded_log.peers == {}  # a trusted proxy's header is no warning


async def test_forwarded_for_from_an_untrusted_peer_is_logged_once_naming_the_peer(
    fake_store: Store, forwarded_log: ForwardedLog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "nowplaying.web")
    async with (
        web(fake_store, forwarded_allow_ips=UNTRUSTED) as base,
        httpx.AsyncClient(timeout=5) as client,
    ):
        for i in range(20):
            await client.get(f"{base}/healthz", headers=spoofed(i))
        await client.get(f"{base}/healthz")  # no header: nothing to say
    lines = [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(lines) == 1
    assert "from 127.0.0.1" in lines[0] and "FORWARDED_ALLOW_IPS" in lines[0]
    assert "203.0.113" not in caplog.text  # the header's claims are never logged
    assert forwarded_log.peers["127.0.0.1"][1] == 19  # counted for the next line


def test_the_forwarded_log_writes_once_per_peer_per_interval_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "t")
    clock = Clock()
    log = ForwardedLog(logging.getLogger("t"), interval_s=60, clock=clock)
    for _ in range(5):
        log.seen("192.0.2.1")
    log.seen("192.0.2.2")  # another peer has a line of its own
    clock.now = 61
    log.seen("192.0.2.1")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "192.0.2.1" in lines[0] and "(1 request(s)" in lines[0]
    assert "192.0.2.2" in lines[1]
    assert "192.0.2.1" in lines[2] and "(5 request(s)" in lines[2]


def test_the_forwarded_log_remembers_a_bounded_number_of_peers() -> None:
    log = ForwardedLog(logging.getLogger("t"), max_peers=3, clock=Clock())
    for i in range(100):
        log.seen(f"192.0.2.{i}")
    assert len(log.peers) == 3 and "192.0.2.99" in log.peers


async def test_through_a_trusted_proxy_that_appends_a_spoofed_first_entry_changes_nothing(
    fake_store: Store, forwarded_log: ForwardedLog
) -> None:
    """nginx's `$proxy_add_x_forwarded_for` (deploy/nginx.conf) appends the real client to
    whatever the client sent: the client address is the last entry the proxy added."""
    async with (
        web(fake_store, max_streams_per_client=2, forwarded_allow_ips="127.0.0.1") as base,
        httpx.AsyncClient(timeout=5) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        statuses = []
        for i in range(3):
            headers = {"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"}
            request = client.stream("GET", f"{base}/api/stream", headers=headers)
            statuses.append((await stack.enter_async_context(request)).status_code)
    assert statuses == [200, 200, 503]
