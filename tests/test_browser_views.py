"""The views in real headless Chromium: the ticking SVG card, the overlay, widget options.

Bar widths and transparency are read from real screenshots (decoded in the browser with a
canvas). Also writes the README's screenshot of each look (docs/img/look-*.png).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from shared.config import Settings
from shared.document import Document, Song
from shared.store import Store
from tests import test_browser
from tests.conftest import serve
from tests.test_browser import SHOTS, demo_site
from tests.webutil import song
from web.app import WebRuntime, build_app

pytestmark = pytest.mark.browser
Browser = Any
ACCENT_LIGHT = (26, 127, 55)  # #1a7f37
TITLES = json.loads((Path(__file__).parent / "fixtures" / "titles.json").read_text())


browser = test_browser.browser  # the same Chromium fixture


def now_ms() -> int:
    return int(time.time() * 1000)


async def put(store: Store, **fields: Any) -> None:
    """Publish one song (playing, 60 s long, 10 s in, art-less unless said) right now."""
    value: Song = song(fields.pop("name", "Ticking Song"), id=str(fields.pop("id", "tick")))
    value.update(  # type: ignore[typeddict-item]
        {
            "durationMs": 60_000,
            "progressMs": 10_000,
            "progressAt": now_ms(),
            "albumImageUrl": None,
            "images": [],
        }
        | fields
    )
    paused_until = value.pop("pausedUntil", None)  # type: ignore[misc]
    await store.publish(value, stale=False, demo=False, now_ms=now_ms())
    if paused_until:

        def pause(previous: Document | None) -> Document | None:
            assert previous is not None
            change = {"version": previous["version"] + 1, "stale": True}
            return previous | change | {"pausedUntil": paused_until}  # type: ignore[return-value]

        await store.transition(pause)


@pytest.fixture
async def site(fake_store: Store) -> AsyncIterator[str]:
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    # A fresh heartbeat, so that the watchdog does not mark the document stale.
    await fake_store.write_heartbeat({"at": now_ms() + 3_600_000, "state": "test"})
    async with serve(build_app(WebRuntime(settings, fake_store))) as base:
        yield base


async def pixels(decoder: Any, png: bytes, y: int) -> list[tuple[int, int, int, int]]:
    """One row of a screenshot, decoded by the browser itself."""
    rows: list[list[int]] = await decoder.evaluate(
        """async ([b64, y]) => {
            const img = new Image(); img.src = 'data:image/png;base64,' + b64; await img.decode();
            const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
            const g = c.getContext('2d'); g.drawImage(img, 0, 0);
            const d = g.getImageData(0, y, img.width, 1).data; const out = [];
            for (let i = 0; i < d.length; i += 4) out.push([d[i], d[i+1], d[i+2], d[i+3]]);
            return out; }""",
        [base64.b64encode(png).decode(), y],
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def wait_until(page: Any, expression: str, timeout_s: float) -> None:
    """Poll `expression` with page.evaluate: unlike wait_for_function it is not eval'd by
    the page, so it works under the strict CSP our SVG and pages are served with."""
    deadline = time.monotonic() + timeout_s
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        await asyncio.sleep(0.1)


def near(pixel: tuple[int, int, int, int], rgb: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=False))


async def bar_width(page: Any, decoder: Any) -> int:
    """Accent-coloured pixels on the progress bar's row (y = 105 in the normal card)."""
    png = await page.screenshot(clip={"x": 0, "y": 0, "width": 480, "height": 120})
    return sum(near(p, ACCENT_LIGHT) for p in await pixels(decoder, png, 105))


async def test_the_svg_card_in_an_img_ticks_between_two_screenshots(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store)
    page = await browser.new_page(viewport={"width": 480, "height": 120})
    decoder = await browser.new_page()
    await page.set_content(f"<body style='margin:0'><img src='{site}/embed.svg'></body>")
    await page.wait_for_function("document.images[0].complete")
    started = time.monotonic()
    first = await bar_width(page, decoder)
    await asyncio.sleep(5)
    second = await bar_width(page, decoder)
    elapsed = time.monotonic() - started
    # 5 s of a 60 s track across a 340 px bar is about 28 px; screenshots take time too.
    expected = elapsed / 60 * 340
    assert first > 0 and abs((second - first) - expected) <= 15, (first, second, expected)
    await page.close()
    await decoder.close()


async def test_the_svg_card_says_played_just_now_after_the_remaining_time(
    browser: Browser, site: str, fake_store: Store
) -> None:
    page = await browser.new_page()
    await put(fake_store, progressMs=52_000)  # 8 s left
    await page.goto(site + "/embed.svg")
    opacity = "parseFloat(getComputedStyle(document.querySelector('.{}')).opacity)"
    assert await page.evaluate(opacity.format("now")) == 1
    assert await page.evaluate(opacity.format("end")) == 0
    await wait_until(page, f"{opacity.format('end')} === 1", 15)
    assert await page.evaluate(opacity.format("now")) == 0
    await page.close()


async def test_with_reduced_motion_the_svg_bar_does_not_move(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store)
    page = await browser.new_page(viewport={"width": 480, "height": 120}, reduced_motion="reduce")
    decoder = await browser.new_page()
    await page.goto(site + "/embed.svg")
    first = await bar_width(page, decoder)
    await asyncio.sleep(3)
    assert first > 0 and await bar_width(page, decoder) == first
    await page.close()
    await decoder.close()


async def test_the_overlay_over_a_coloured_page_shows_the_page_through(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, name="Overlay Song")
    host = (
        "<body style='margin:0;background:rgb(255,0,255)'>"
        f"<iframe src='{site}/overlay?theme=dark' width=800 height=260 "
        "style='border:0;background:transparent' allowtransparency></iframe></body>"
    )
    page = await browser.new_page(viewport={"width": 800, "height": 260})
    decoder = await browser.new_page()
    await page.set_content(host)
    frame = page.frame_locator("iframe")
    await frame.locator("[data-nowplaying]").get_by_text("Overlay Song").wait_for(timeout=10_000)
    png = await page.screenshot()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "look-overlay.png").write_bytes(png)
    # A row through the middle of the card, art and text included.
    row = await pixels(decoder, png, 110)
    magenta = sum(near(p, (255, 0, 255), 10) for p in row)
    assert magenta > len(row) // 2, magenta
    await page.close()
    await decoder.close()


async def test_a_change_animates_into_the_overlay(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, name="First Song")
    page = await browser.new_page()
    await page.goto(site + "/overlay")
    card = page.locator("[data-nowplaying]")
    await card.get_by_text("First Song").wait_for(timeout=10_000)
    await page.evaluate(
        "window.started = []; document.querySelector('[data-nowplaying]').shadowRoot"
        ".addEventListener('animationstart', e => window.started.push(e.animationName))"
    )
    await put(fake_store, name="Second Song", id="second")
    await card.get_by_text("Second Song").wait_for(timeout=10_000)
    await wait_until(page, "window.started.includes('enter')", 5)
    await page.close()


async def widget_page(browser: Browser, site: str, attributes: str, **context: Any) -> Any:
    page = await browser.new_page(**context)
    page.warnings = []
    page.on("console", lambda m: page.warnings.append(m.text) if "nowplaying" in m.text else None)
    await page.set_content(
        f"<body><div data-nowplaying {attributes}></div><script src='{site}/widget.js'></script>"
    )
    await page.wait_for_function(
        "document.querySelector('[data-nowplaying]').getAttribute('data-state') !== 'loading'",
        timeout=10_000,
    )
    return page


async def shadow(page: Any, script: str) -> Any:
    return await page.evaluate(
        f"(() => {{ const r = document.querySelector('[data-nowplaying]').shadowRoot; "
        f"return {script}; }})()"
    )


async def test_widget_options_change_the_card(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, name="Heroes - 2017 Remaster", albumImageUrl="https://i.scdn.co/x")
    page = await widget_page(
        browser, site, 'data-size="compact" data-art="hide" data-accent="f06" data-clean="on"'
    )
    assert await shadow(page, "r.querySelector('.title').textContent") == "Heroes"
    assert await shadow(page, "r.querySelector('img.art').hidden") is True
    fill = await shadow(page, "getComputedStyle(r.querySelector('.fill')).backgroundColor")
    assert fill == "rgb(255, 0, 102)"
    width = await page.evaluate("document.querySelector('[data-nowplaying]').offsetWidth")
    assert width <= 340
    assert page.warnings == []
    await page.close()


async def test_a_malformed_widget_option_is_a_console_warning(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store)
    page = await widget_page(browser, site, 'data-theme="neon" data-hideAfter="soon"')
    assert any("theme must be" in w for w in page.warnings), page.warnings
    assert any("hideAfter must be" in w for w in page.warnings), page.warnings
    await page.close()


async def test_the_widget_hides_when_idle_with_idle_hide(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, isPlaying=False)
    page = await widget_page(browser, site, 'data-idle="hide"')
    assert await page.get_attribute("[data-nowplaying]", "data-state") == "hidden"
    await page.close()


async def test_the_widget_shows_the_idle_message_when_nothing_plays(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, source="recent", isPlaying=False, playedAt="2025-01-01T00:00:00Z")
    page = await widget_page(browser, site, 'data-idle="Back after the break"')
    assert await shadow(page, "r.querySelector('.title').textContent") == "Back after the break"
    await page.close()


async def test_the_widget_hides_hide_after_seconds_after_a_change(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store)
    page = await widget_page(browser, site, "data-hideAfter='1'")
    assert await page.get_attribute("[data-nowplaying]", "data-state") == "playing"
    await page.wait_for_function(
        "document.querySelector('[data-nowplaying]').getAttribute('data-state') === 'hidden'",
        timeout=5_000,
    )
    await page.close()


async def test_the_widget_says_until_when_spotify_paused_in_local_time(
    browser: Browser, site: str, fake_store: Store
) -> None:
    until = now_ms() + 3 * 3_600_000
    await put(fake_store, pausedUntil=until)
    page = await widget_page(browser, site, "", timezone_id="America/New_York", locale="en-GB")
    local = datetime.fromtimestamp(until / 1000, ZoneInfo("America/New_York"))
    hint = await shadow(page, "r.querySelector('.hint').textContent")
    assert hint == f"Spotify paused updates until {local:%H:%M}"
    await page.close()


async def test_a_scrobble_without_duration_has_no_bar_in_the_widget(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, provider="lastfm", durationMs=None, progressMs=None, progressAt=None)
    page = await widget_page(browser, site, "")
    assert await shadow(page, "r.querySelector('.bar').hidden") is True
    assert await shadow(page, "r.querySelector('.label').textContent") == "Now playing"
    assert await shadow(page, "r.querySelector('.via').textContent") == "Last.fm"
    await page.close()


async def test_the_widget_links_only_to_https_and_shows_only_safe_images(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(
        fake_store,
        url="javascript:alert(1)",
        spotifyUrl="javascript:alert(2)",
        albumImageUrl="http://tracker.example/pixel.png",
    )
    page = await widget_page(browser, site, "")
    assert await shadow(page, "r.querySelector('a.card').hasAttribute('href')") is False
    assert await shadow(page, "r.querySelector('img.art').hasAttribute('src')") is False
    await page.close()


async def test_the_widgets_url_checks_accept_what_they_should(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store)
    page = await widget_page(browser, site, "")
    checks = await page.evaluate(
        """(origin) => { const w = window.nowplayingWidget; return [
            w.safeLink('https://open.spotify.com/track/x'), w.safeLink('http://x.test/'),
            w.safeImage('https://i.scdn.co/image/x'), w.safeImage(origin + '/sim/art/1.svg'),
            w.safeImage('data:image/png;base64,AA'), w.safeImage('data:text/html,x'),
            w.safeImage('javascript:alert(1)') ]; }""",
        site,
    )
    assert checks == [
        "https://open.spotify.com/track/x",
        None,
        "https://i.scdn.co/image/x",
        site + "/sim/art/1.svg",
        "data:image/png;base64,AA",
        None,
        None,
    ]
    await page.close()


async def test_the_widgets_title_cleaner_matches_the_shared_table(
    browser: Browser, site: str
) -> None:
    page = await browser.new_page()
    await page.goto(site + "/")
    await page.wait_for_function("window.nowplayingWidget !== undefined")
    got = await page.evaluate(
        "(cases) => [cases.clean.map(c => nowplayingWidget.cleanTitle(c[0])),"
        " cases.mask.map(c => nowplayingWidget.maskTitle(c[0]))]",
        TITLES,
    )
    assert got == [[c[1] for c in TITLES["clean"]], [c[1] for c in TITLES["mask"]]]
    await page.close()


async def test_the_widgets_option_parser_agrees_with_the_servers(
    browser: Browser, site: str
) -> None:
    from web.options import OptionError, parse_options

    samples = [
        {"theme": "Dark", "bg": "FFF", "accent": "#1A7F37", "size": "wide"},
        {"art": "hide", "idle": "  Back   soon ", "hideAfter": "15", "clean": "on"},
        {"explicit": "hide", "idle": "HIDE"},
        {"theme": "neon"},
        {"hideAfter": "0"},
        {"bg": "transparent", "accent": "transparent"},
    ]
    page = await browser.new_page()
    await page.goto(site + "/")
    await page.wait_for_function("window.nowplayingWidget !== undefined")
    for sample in samples:
        ours = await page.evaluate(
            "(s) => nowplayingWidget.parseOptions(n => n in s ? s[n] : null, 'light')", sample
        )
        try:
            server = parse_options(sample, default_theme="light")
        except OptionError as exc:
            assert [e.split(" (got")[0] for e in ours["errors"]] == [
                r.split(" (got")[0] for r in exc.reasons
            ]
            continue
        assert ours["errors"] == []
        assert ours["options"] == {
            "theme": server.theme,
            "bg": server.bg,
            "accent": server.accent,
            "size": server.size,
            "art": server.art,
            "idle": server.idle,
            "hideAfter": server.hide_after_s,
            "clean": server.clean,
            "hideExplicit": server.hide_explicit,
        }
    await page.close()


LOOKS = {
    "look-light": "",
    "look-dark": "?theme=dark",
    "look-transparent-accent": "?bg=transparent&accent=e91e63",
    "look-compact": "?size=compact",
    "look-wide": "?size=wide&theme=dark",
    "look-no-art": "?art=hide&accent=1db954",
}


async def test_screenshots_of_each_look(browser: Browser, fake_store: Store) -> None:
    """The SVG card in each look, and the compact widget, from the demo player."""
    async with demo_site(fake_store) as base:
        page = await browser.new_page(viewport={"width": 680, "height": 160})
        for name, query in LOOKS.items():
            await page.set_content(
                "<body style='margin:0;padding:8px;background:#eef1f4'>"
                f"<img id=c src='{base}/embed.svg{query}'></body>"
            )
            await page.wait_for_function("document.getElementById('c').complete")
            await page.locator("#c").screenshot(path=str(SHOTS / f"{name}.png"))
        await page.set_content(
            f"<body style='margin:0;padding:8px'><div data-nowplaying data-size='compact'></div>"
            f"<script src='{base}/widget.js'></script></body>"
        )
        await page.locator("[data-nowplaying]").get_by_text("Never Gonna").wait_for()
        await page.locator("[data-nowplaying]").screenshot(
            path=str(SHOTS / "look-widget-compact.png")
        )
        await page.close()
    assert all((SHOTS / f"{name}.png").stat().st_size > 1000 for name in LOOKS)


async def test_the_overlay_takes_its_options_from_the_url(
    browser: Browser, site: str, fake_store: Store
) -> None:
    await put(fake_store, isPlaying=False, name="Heroes - 2017 Remaster")
    page = await browser.new_page()
    await page.goto(site + "/overlay?idle=hide&clean=on&v=2")
    await wait_until(
        page,
        "document.querySelector('[data-nowplaying]').getAttribute('data-state') === 'hidden'",
        10,
    )
    assert await shadow(page, "r.querySelector('.title').textContent") == "Heroes"
    await wait_until(
        page,
        "getComputedStyle(document.querySelector('[data-nowplaying]').shadowRoot"
        ".querySelector('.card')).opacity === '0'",
        5,
    )
    await page.close()


async def test_a_lastfm_sourced_card_shows_no_progress_bar_and_says_now_playing(
    browser: Browser, site: str, fake_store: Store
) -> None:
    """Scrobblers know no position: the card draws no bar rather than a wrong one.
    Writes docs/img/look-lastfm.png, the README's Last.fm look."""
    await put(
        fake_store,
        name="Heroes",
        artists=["David Bowie"],
        album="Heroes",
        provider="lastfm",
        url="https://www.last.fm/music/David+Bowie/_/Heroes",
        spotifyUrl=None,
        explicit=None,
        durationMs=None,
        progressMs=None,
        progressAt=None,
    )
    page = await browser.new_page(viewport={"width": 680, "height": 160})
    await page.goto(site + "/embed.svg")
    assert await page.evaluate("document.querySelectorAll('.bar').length") == 0
    text = await page.evaluate("document.documentElement.textContent")
    assert "Now playing" in text and "Heroes" in text and "Paused" not in text
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / "look-lastfm.png"))
    await page.close()
