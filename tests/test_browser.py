"""The widget in real headless Chromium (Debian's package), driven by Playwright.

Also writes the README screenshots (docs/img/) from what the browser really rendered."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from nowplaying.run import demo_poller
from shared.config import Settings
from shared.store import Store
from tests.conftest import need, serve
from tests.webutil import publish
from web.app import WebRuntime, build_app

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    executable = need("chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, args=ARGS)
        yield b
        await b.close()


@pytest.fixture
async def site(fake_store: Store) -> AsyncIterator[str]:
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    await publish(fake_store, '</text><script>window.pwned=1</script> & "x"')
    async with serve(build_app(WebRuntime(settings, fake_store))) as base:
        yield base


async def card_text(page: object) -> str:
    # Playwright's CSS locators pierce open shadow roots.
    text: str = await page.locator("[data-nowplaying] .card").inner_text()  # type: ignore[attr-defined]
    return text


async def test_the_page_shows_the_track_and_the_next_one_without_a_reload(
    browser: object, site: str, fake_store: Store
) -> None:
    page = await browser.new_page(viewport={"width": 320, "height": 480})  # type: ignore[attr-defined]
    await page.goto(site + "/")
    card = page.locator("[data-nowplaying]")
    await card.get_by_text("window.pwned", exact=False).wait_for(timeout=10_000)
    assert await page.evaluate("window.pwned === undefined")
    # The document's track started in 2025: by its duration it has ended.
    assert "Played just now" in await card_text(page)
    await publish(fake_store, "The Next Track")
    await card.get_by_text("The Next Track").wait_for(timeout=10_000)
    await page.close()


async def test_widget_js_renders_a_live_card_in_a_page_of_another_origin(
    browser: object, site: str, fake_store: Store
) -> None:
    host_page = f"""<!doctype html><html><head><style>
        * {{ color: red !important; font-size: 40px !important; display: inline !important; }}
        </style></head><body><h1>My portfolio</h1><div data-nowplaying></div>
        <script src="{site}/widget.js" async></script></body></html>"""
    other = Starlette(routes=[Route("/", lambda r: HTMLResponse(host_page))])
    async with serve(other) as other_origin:
        assert other_origin != site
        page = await browser.new_page()  # type: ignore[attr-defined]
        await page.goto(other_origin + "/")
        card = page.locator("[data-nowplaying]")
        await card.get_by_text("window.pwned", exact=False).wait_for(timeout=10_000)
        title_color = await page.evaluate(
            "getComputedStyle(document.querySelector('[data-nowplaying]').shadowRoot"
            ".querySelector('.title')).color"
        )
        assert title_color != "rgb(255, 0, 0)"  # the host page's CSS does not reach the card
        await publish(fake_store, "Cross Origin Update")
        await card.get_by_text("Cross Origin Update").wait_for(timeout=10_000)
        await page.close()


@contextlib.asynccontextmanager
async def demo_site(fake_store: Store) -> AsyncIterator[str]:
    """The demo as `nowplaying run` serves it, one track in: the screenshots' subject."""
    if os.environ.get("NOWPLAYING_SCREENSHOTS", "1") == "0":
        pytest.skip("screenshots disabled")
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    poller, art = demo_poller(settings, fake_store, "http://127.0.0.1")
    runtime = WebRuntime(settings, fake_store, demo=True, services=[poller], local_art=art.lookup)
    async with serve(build_app(runtime, [art.route()])) as base:
        # The simulator is reachable only through the poller's in-process transport.
        sim_state = poller.http._transport.app.state.sim  # type: ignore[attr-defined]
        sim_state.player.set_state(sim_state.clock(), index=0, position_ms=61_000)
        poller.fallback_active = False
        await poller.poll_once()
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield base


async def test_screenshots_for_the_readme(browser: object, fake_store: Store) -> None:
    """Renders the demo-shaped card in light and dark, and the SVG card, into docs/img."""
    async with demo_site(fake_store) as base:
        for scheme in ("light", "dark"):
            page = await browser.new_page(  # type: ignore[attr-defined]
                viewport={"width": 560, "height": 200}, color_scheme=scheme
            )
            await page.goto(base + "/")
            await page.locator("[data-nowplaying]").get_by_text("Never Gonna").wait_for()
            await page.locator("[data-nowplaying]").screenshot(
                path=str(SHOTS / f"widget-{scheme}.png")
            )
            await page.goto(f"{base}/embed.svg?theme={scheme}")
            await page.screenshot(
                path=str(SHOTS / f"card-{scheme}.png"),
                clip={"x": 0, "y": 0, "width": 480, "height": 120},
            )
            await page.close()
    assert (SHOTS / "widget-light.png").stat().st_size > 1000


async def test_the_widget_falls_back_to_polling_when_the_stream_is_refused(
    browser: object, site: str
) -> None:
    page = await browser.new_page()  # type: ignore[attr-defined]
    polled: list[str] = []
    page.on("request", lambda r: polled.append(r.url) if "/api/now-playing" in r.url else None)
    # A proxy that refuses streams: EventSource gives up on a non-200 answer.
    await page.route("**/api/stream", lambda route: route.fulfill(status=502, body="no"))
    await page.goto(site + "/")
    card = page.locator("[data-nowplaying]")
    await card.get_by_text("window.pwned", exact=False).wait_for(timeout=10_000)
    assert polled, "the card must have been filled by polling /api/now-playing"
    await page.close()
