"""/og.png (a 1200 x 630 PNG of the card, cached per version) and the link-preview meta of `/`."""

from __future__ import annotations

import asyncio
import re
import struct
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from shared.config import Settings
from shared.store import Store
from tests.webutil import document, raw, web_client
from web.art import ArtCache
from web.hub import Hub
from web.og import OgImage, rasterise
from web.runtime import WebRuntime

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def ihdr_size(png: bytes) -> tuple[int, int]:
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.fixture
async def client(fake_store: Store) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(redis_prefix=fake_store.keys.prefix)
    runtime = WebRuntime(settings, fake_store)
    runtime.hub.update(raw(document(3, "Song For The Preview")))
    async with web_client(runtime, base_url="https://np.example") as c:
        yield c
    await runtime.http.aclose()


class Counting:
    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()

    def __call__(self, svg: str) -> bytes:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        return rasterise(svg)


@pytest.fixture
async def og() -> AsyncIterator[tuple[OgImage, httpx.AsyncClient, Counting]]:
    hub = Hub()
    hub.update(raw(document(1, "First")))
    async with httpx.AsyncClient() as http:
        counting = Counting()
        image = OgImage(hub, ArtCache(http), render=counting)
        app = Starlette(routes=[Route("/og.png", image.endpoint)])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://np.test") as c:
            yield image, c, counting


async def test_og_png_is_a_png_of_1200_by_630(client: httpx.AsyncClient) -> None:
    response = await client.get("/og.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    assert ihdr_size(response.content) == (1200, 630)


async def test_og_png_is_sent_with_no_cache(client: httpx.AsyncClient) -> None:
    response = await client.get("/og.png")
    assert response.headers["cache-control"] == "no-cache"


async def test_og_png_of_the_same_version_is_served_from_the_cache(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    image, c, counting = og
    first = await c.get("/og.png")
    second = await c.get("/og.png")
    assert first.content == second.content
    assert counting.calls == 1 and image.renders == 1


async def test_concurrent_requests_for_a_new_version_render_it_once(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    _, c, counting = og
    answers = await asyncio.gather(*(c.get("/og.png") for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert counting.calls == 1


async def test_the_render_runs_off_the_event_loop_thread(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    _, c, counting = og
    await c.get("/og.png")
    assert counting.threads and threading.main_thread().name not in counting.threads


async def test_og_png_changes_when_the_document_version_changes(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    image, c, counting = og
    before = await c.get("/og.png")
    image.hub.update(raw(document(2, "Second")))
    after = await c.get("/og.png")
    assert after.content != before.content
    assert counting.calls == 2


async def test_og_png_dark_is_another_render_than_light(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    _, c, counting = og
    light = await c.get("/og.png")
    dark = await c.get("/og.png?theme=dark")
    assert light.content != dark.content and counting.calls == 2


async def test_og_png_refuses_a_malformed_theme(
    og: tuple[OgImage, httpx.AsyncClient, Counting],
) -> None:
    _, c, _ = og
    response = await c.get("/og.png?theme=purple")
    assert response.status_code == 400 and "theme" in response.text


def meta(page: str, attribute: str, name: str) -> str:
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)">', page)
    assert found is not None, name
    return found.group(1)


async def test_the_page_points_og_image_at_an_absolute_og_png_url(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/")).text
    assert meta(page, "property", "og:image") == "https://np.example/og.png?v=3"


async def test_the_page_carries_og_title_description_and_a_large_x_card(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/")).text
    assert "Song For The Preview" in meta(page, "property", "og:title")
    assert meta(page, "property", "og:description")
    assert meta(page, "name", "twitter:card") == "summary_large_image"


async def test_the_og_image_url_follows_the_host_and_escapes_it(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/", headers={"Host": 'a.example"><script>'})).text
    assert "<script>" not in page.split("</head>")[0].replace("<script src", "")


async def page_of(fake_store: Store, **settings: object) -> str:
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix, **settings), fake_store)  # type: ignore[arg-type]
    async with web_client(runtime) as c:
        text = (await c.get("/")).text
    await runtime.http.aclose()
    return text


async def test_a_first_run_page_says_nothing_is_configured_and_points_to_admin(
    fake_store: Store,
) -> None:
    page = await page_of(fake_store, admin_token="a" * 32)
    assert "Nothing is configured yet" in page and 'href="/admin"' in page
    assert "data-nowplaying" in page  # the demo card keeps playing


async def test_a_configured_instance_shows_no_first_run_note(fake_store: Store) -> None:
    page = await page_of(fake_store, lastfm_api_key="k" * 32, lastfm_user="someone")
    assert "Nothing is configured yet" not in page
