"""The view routes against the ASGI app: /embed.svg options, /now.txt, /open, /overlay."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from tests import test_web_routes
from tests.webutil import document, raw
from web.app import WebRuntime
from web.cors import Cors
from web.views import DEFAULT_FMT, NOTHING, Template, Views, now_line

runtime = test_web_routes.runtime  # the same app and client as the route tests
client = test_web_routes.client


def playing(runtime: WebRuntime, **song: object) -> None:
    value = document(4, "Heroes - 2017 Remaster")
    assert value["song"] is not None
    value["song"].update(albumImageUrl=None, images=[], **song)  # type: ignore[typeddict-item]
    runtime.hub.update(raw(value))


async def test_a_malformed_svg_option_is_a_400_that_names_it(client: httpx.AsyncClient) -> None:
    r = await client.get("/embed.svg?size=huge&accent=blue")
    assert r.status_code == 400
    assert "size must be" in r.text and "accent must be" in r.text


async def test_unknown_svg_options_are_ignored(client: httpx.AsyncClient) -> None:
    assert (await client.get("/embed.svg?v=2&utm_source=x")).status_code == 200


async def test_the_svg_has_no_etag_and_never_answers_304(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime)
    first = await client.get("/embed.svg")
    assert "etag" not in first.headers
    again = await client.get("/embed.svg", headers={"If-None-Match": "*"})
    assert again.status_code == 200 and again.text


async def test_the_svg_takes_the_options_from_its_query(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime)
    text = (await client.get("/embed.svg?clean=on&size=compact&theme=auto")).text
    assert ">Heroes<" in text and 'width="340"' in text and "prefers-color-scheme" in text


async def test_now_txt_is_one_line_of_plain_text(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime)
    r = await client.get("/now.txt")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "Now playing: Heroes - 2017 Remaster – Rick Astley"


async def test_now_txt_fills_a_template(client: httpx.AsyncClient, runtime: WebRuntime) -> None:
    playing(runtime, artists=["A", "B"], url="https://www.last.fm/music/x", provider="lastfm")
    r = await client.get(
        "/now.txt", params={"fmt": "{status} | {name} | {artists} | {album} | {url}"}
    )
    assert r.text == (
        "Now playing | Heroes - 2017 Remaster | A, B | Whenever You Need Somebody"
        " | https://www.last.fm/music/x"
    )


async def test_now_txt_says_so_when_nothing_is_known(client: httpx.AsyncClient) -> None:
    assert (await client.get("/now.txt?fmt={name}")).text == NOTHING


async def test_now_txt_substitutes_nothing_for_a_missing_url_while_something_plays(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime, url=None, spotifyUrl=None)
    r = await client.get("/now.txt", params={"fmt": "{url}"})
    assert r.status_code == 200 and r.text == ""


async def test_now_txt_with_an_unknown_field_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/now.txt", params={"fmt": "{title} by {artists}"})
    assert r.status_code == 400 and "unknown field {title}" in r.text


async def test_now_txt_with_a_stray_brace_is_a_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/now.txt", params={"fmt": "{name"})).status_code == 400


async def test_now_txt_answers_cors_like_the_api(client: httpx.AsyncClient) -> None:
    r = await client.get("/now.txt", headers={"Origin": "https://me.dev"})
    assert r.headers["access-control-allow-origin"] == "https://me.dev"


async def test_now_txt_follows_a_new_version(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime)
    await client.get("/now.txt")
    runtime.hub.update(raw(document(9, "Changes")))
    assert "Changes" in (await client.get("/now.txt")).text


def test_a_template_never_yields_more_than_one_line() -> None:
    value = document(3, "Line\nbreak")
    assert "\n" not in now_line(value, Template("{name}\n{artists}"))


def test_the_default_template_names_status_title_and_artists() -> None:
    assert now_line(document(3, "Song"), Template(DEFAULT_FMT)) == "Now playing: Song – Rick Astley"


async def test_open_redirects_to_the_items_page(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime, url="https://www.last.fm/music/x")
    r = await client.get("/open")
    assert r.status_code == 302 and r.headers["location"] == "https://www.last.fm/music/x"
    assert r.headers["cache-control"] == "no-cache"


async def test_open_falls_back_to_the_spotify_url(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime, url=None)
    r = await client.get("/open")
    assert r.headers["location"].startswith("https://open.spotify.com/track/")


async def test_open_without_an_item_is_a_relative_redirect_home(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/open", headers={"Host": "evil.example"})
    assert r.status_code == 302 and r.headers["location"] == "/"


async def test_open_never_redirects_to_a_script_url(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime, url="javascript:alert(1)", spotifyUrl="javascript:alert(2)")
    assert (await client.get("/open")).headers["location"] == "/"


async def test_open_refuses_other_methods(client: httpx.AsyncClient) -> None:
    assert (await client.post("/open")).status_code == 405


async def test_the_overlay_is_an_html_page_that_loads_the_widget(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/overlay?theme=dark")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js">' in r.text


async def test_the_view_routes_are_counted_in_the_metrics(client: httpx.AsyncClient) -> None:
    await client.get("/now.txt")
    await client.get("/open")
    text = (await client.get("/metrics")).text
    assert 'route="/now.txt",status="200"' in text and 'route="/open",status="302"' in text


async def test_every_one_shot_view_awaits_the_fresh_hook(runtime: WebRuntime) -> None:
    calls: list[str] = []

    async def fresh() -> None:
        calls.append("fresh")

    views = Views(runtime.hub, runtime.metrics, Cors(["*"]), runtime.art)
    views.use_fresh(fresh)
    transport = httpx.ASGITransport(app=Starlette(routes=views.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://np.test") as c:
        for path in ("/embed.svg", "/now.txt", "/open", "/overlay"):
            await c.get(path)
    assert calls == ["fresh"] * 3


@given(st.text(max_size=80))
def test_any_fmt_is_a_template_or_a_value_error(fmt: str) -> None:
    try:
        line = now_line(document(3, "Song"), Template(fmt))
    except ValueError:
        return
    assert "\n" not in line


async def test_now_txt_takes_the_clean_and_explicit_options(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    playing(runtime, explicit=True)
    r = await client.get("/now.txt", params={"fmt": "{name}", "clean": "on", "explicit": "hide"})
    assert r.text == "H*****"


async def test_now_txt_with_a_malformed_option_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/now.txt?clean=yes")
    assert r.status_code == 400 and "clean must be" in r.text
