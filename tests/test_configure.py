"""/configure without a browser: public, the default snippets for this host, no frames."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.webutil import document, web_client
from web.og import og_svg
from web.runtime import WebRuntime


@pytest.fixture
async def client(fake_store: Store) -> AsyncIterator[httpx.AsyncClient]:
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix), fake_store)
    async with web_client(runtime, base_url="https://np.example") as c:
        yield c
    await runtime.http.aclose()


async def test_configure_is_public_and_offers_the_default_snippets_for_this_host(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/configure")
    assert response.status_code == 200
    assert "[![Now playing](https://np.example/embed.svg)](https://np.example/open)" in (
        response.text
    )
    assert "https://np.example/now.txt" in response.text


async def test_configure_refuses_to_be_framed_and_sends_no_cors(client: httpx.AsyncClient) -> None:
    response = await client.get("/configure", headers={"Origin": "https://elsewhere.example"})
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "access-control-allow-origin" not in response.headers


async def test_admin_refuses_to_be_framed(fake_store: Store) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, admin_token="t" * 30)
    runtime = WebRuntime(settings, fake_store)
    async with web_client(runtime) as c:
        response = await c.get("/admin")
    await runtime.http.aclose()
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_og_image_names_spotify_and_the_items_page_for_a_spotify_item() -> None:
    svg = og_svg(document(4, "Attributed"), "light", None, 1_763_900_000_000)
    assert "On Spotify · open.spotify.com/track/id4" in svg


def test_og_image_of_the_demo_carries_no_provider_attribution() -> None:
    svg = og_svg(document(4, "Demo", demo=True), "light", None, 1_763_900_000_000)
    assert "On Spotify" not in svg and "DEMO" in svg


def test_og_image_of_a_pushed_item_names_its_page_not_a_site_called_pushed() -> None:
    doc = document(4, "Pushed one")
    assert doc["song"] is not None
    doc["song"] = doc["song"] | {"provider": "push", "url": "https://music.example/t/1"}
    svg = og_svg(doc, "light", None, 1_763_900_000_000)
    assert "On Pushed" not in svg and "music.example/t/1" in svg
