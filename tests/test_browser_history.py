"""/history.svg and the widget's `data-history` in real headless Chromium, with the demo's
art inlined. Writes the README's screenshots docs/img/history-{light,dark,compact}.png and
docs/img/widget-history.png."""

from __future__ import annotations

import time
from typing import Any

import pytest

from nowplaying.simulator.player import CATALOG
from shared.history import Session, add_sessions
from shared.store import Store
from tests import test_browser
from tests.test_browser import SHOTS, demo_site

pytestmark = pytest.mark.browser
Browser = Any
browser = test_browser.browser  # the same Chromium fixture

LOOKS = {
    "history-light": "?theme=light",
    "history-dark": "?theme=dark",
    "history-compact": "?size=compact&theme=auto",
}


def demo_sessions(now_ms: int) -> list[Session]:
    """The demo catalogue played back to front, the first track twice in a row."""
    items = [CATALOG[0], CATALOG[0], CATALOG[1], CATALOG[3], CATALOG[2], CATALOG[1]]
    sessions: list[Session] = []
    ended = now_ms - 60_000
    for n, item in enumerate(items):
        listened = min(item.duration_ms, 180_000)
        sessions.append(
            {
                "id": f"demo{n}",
                "provider": "spotify",
                "type": item.kind,
                "name": item.name,
                "artists": list(item.artists),
                "album": item.album,
                "url": f"https://open.spotify.com/{item.kind}/{item.id}",
                "imageUrl": f"/demo-art/{item.id}-300.png",
                "startedAt": ended - listened,
                "endedAt": ended,
                "listenedMs": listened,
                "durationMs": item.duration_ms,
                "skipped": listened < item.duration_ms - 30_000,
                "source": "current",
            }
        )
        ended -= listened + 20_000
    return sessions


async def test_screenshots_of_the_history_card(browser: Browser, fake_store: Store) -> None:
    async with demo_site(fake_store) as base:
        await add_sessions(fake_store, demo_sessions(int(time.time() * 1000)), 5000)
        for name, query in LOOKS.items():
            scheme = "dark" if "compact" in name else "light"
            page = await browser.new_page(
                viewport={"width": 680, "height": 420}, color_scheme=scheme
            )
            await page.set_content(
                "<body style='margin:0;padding:8px;background:#eef1f4'>"
                f"<img id=c src='{base}/history.svg{query}'></body>"
            )
            await page.wait_for_function("document.getElementById('c').complete")
            width = await page.evaluate("document.getElementById('c').naturalWidth")
            assert width in (340, 480)
            await page.locator("#c").screenshot(path=str(SHOTS / f"{name}.png"))
            await page.close()
        page = await browser.new_page()
        answer = await page.goto(f"{base}/history.svg")
        assert answer is not None
        assert "data:image/png;base64," in await answer.text()  # the demo art, inlined
        await page.close()
    assert all((SHOTS / f"{name}.png").stat().st_size > 2000 for name in LOOKS)


async def test_the_widget_lists_the_last_plays_under_the_card(
    browser: Browser, fake_store: Store
) -> None:
    async with demo_site(fake_store) as base:
        await add_sessions(fake_store, demo_sessions(int(time.time() * 1000)), 5000)
        page = await browser.new_page(viewport={"width": 520, "height": 420})
        await page.set_content(
            "<body style='margin:0;padding:8px'><div data-nowplaying data-history='3'></div>"
            f"<script src='{base}/widget.js'></script></body>"
        )
        await page.locator("[data-nowplaying]").get_by_text("Never Gonna").first.wait_for()
        rows = page.locator("[data-nowplaying] .hist li")
        await rows.nth(2).wait_for()
        texts = await rows.all_inner_texts()
        assert len(texts) == 3
        assert "Never Gonna Give You Up" in texts[0] and "×2" in texts[0]
        assert "Spotify · ×2" in texts[0]  # attributed, as the card's corner is
        assert "Midnight Circuits" in texts[1]
        await page.locator("[data-nowplaying]").screenshot(path=str(SHOTS / "widget-history.png"))
        await page.close()


async def test_the_widget_masks_an_explicit_title_in_the_list_with_data_explicit_hide(
    browser: Browser, fake_store: Store
) -> None:
    async with demo_site(fake_store) as base:
        now = int(time.time() * 1000)
        played = demo_sessions(now)[2] | {"id": "x1", "name": "Filthy Words", "explicit": True}
        await add_sessions(fake_store, [played], 5000)
        page = await browser.new_page(viewport={"width": 520, "height": 420})
        await page.set_content(
            "<body><div data-nowplaying data-history='3' data-explicit='hide'></div>"
            f"<script src='{base}/widget.js'></script></body>"
        )
        rows = page.locator("[data-nowplaying] .hist li")
        await rows.first.wait_for()
        text = (await rows.all_inner_texts())[0]
        assert "Filthy" not in text and "F***** W****" in text
        await page.close()


async def test_a_malformed_data_history_is_a_console_warning_and_no_list(
    browser: Browser, fake_store: Store
) -> None:
    async with demo_site(fake_store) as base:
        page = await browser.new_page()
        warnings: list[str] = []
        page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
        await page.set_content(
            "<body><div data-nowplaying data-history='11'></div>"
            f"<script src='{base}/widget.js'></script></body>"
        )
        await page.locator("[data-nowplaying]").get_by_text("Never Gonna").first.wait_for()
        assert await page.locator("[data-nowplaying] .hist").count() == 0
        assert any("history must be a whole number from 1 to 10" in w for w in warnings)
        await page.close()
