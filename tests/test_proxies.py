"""SSE live through real nginx and Caddy with compression on, in headless Chromium.

The proxies run the files in deploy/ that docs/DEPLOY.md shows verbatim (bench/proxies.py
changes only the port and the upstream). Chromium sends `Accept-Encoding: gzip`, so each
proxy's compression is in play. Bounds are generous; docs/BENCHMARKS.md has the figures.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bench import proxies
from shared.config import Settings
from shared.store import Store
from tests.conftest import need, serve
from tests.test_browser import ARGS
from web.app import WebRuntime, build_app
from web.sse import HEADERS

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
INITIAL_S = 3.0  # generous: measured well under 0.2 s
CHANGE_S = 1.0  # the bound for a change, app to browser
Change = Callable[[], Awaitable[int]]


@pytest.fixture
async def page() -> AsyncIterator[object]:
    executable = need("chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=ARGS)
        yield await browser.new_page()
        await browser.close()


@pytest.fixture
def change(fake_store: Store) -> Change:
    counter = iter(range(1_000_000))

    async def publish() -> int:
        song = proxies.song(f"Track {next(counter)}")
        doc = await fake_store.publish(
            song, stale=False, demo=False, now_ms=int(time.time() * 1000)
        )
        return doc["version"]

    return publish


@pytest.fixture
async def upstream(fake_store: Store, change: Change) -> AsyncIterator[str]:
    """The web app on a real socket, with a song large enough for Caddy's minimum_length."""
    await change()
    async with serve(build_app(WebRuntime(Settings(redis_prefix="t"), fake_store))) as base:
        yield base.removeprefix("http://")


@pytest.fixture
async def bare_upstream(fake_store: Store, change: Change) -> AsyncIterator[str]:
    """The same app without `Content-Encoding: identity`, to test a proxy config alone."""
    await change()
    app = proxies.without_identity(build_app(WebRuntime(Settings(redis_prefix="t"), fake_store)))
    async with serve(app) as base:
        yield base.removeprefix("http://")


async def assert_live(page: object, base: str, change: Change) -> None:
    first, delays = await proxies.event_delays(page, base, change, changes=3, timeout_s=10)
    assert first < INITIAL_S and max(delays) < CHANGE_S, (first, delays)


async def test_sse_is_live_through_nginx_with_gzip_on(
    page: object, upstream: str, change: Change
) -> None:
    need("nginx")
    with proxies.nginx(upstream) as base:
        await assert_live(page, base, change)


async def test_sse_is_live_through_caddy_with_encode_gzip(
    page: object, upstream: str, change: Change
) -> None:
    need("caddy")
    with proxies.caddy(upstream) as base:
        await assert_live(page, base, change)


async def test_caddy_with_the_stream_excluded_from_encode_is_live_without_the_apps_header(
    page: object, bare_upstream: str, change: Change
) -> None:
    need("caddy")
    with proxies.caddy(bare_upstream, "Caddyfile.strict") as base:
        await assert_live(page, base, change)


def test_the_stream_tells_compressing_proxies_to_leave_it_alone() -> None:
    assert (b"content-encoding", b"identity") in HEADERS


@pytest.mark.parametrize("name", ["nginx.conf", "Caddyfile.host", "Caddyfile.strict"])
def test_deploy_md_shows_each_tested_proxy_config_verbatim(name: str) -> None:
    assert (ROOT / "deploy" / name).read_text().strip() in (ROOT / "docs" / "DEPLOY.md").read_text()
