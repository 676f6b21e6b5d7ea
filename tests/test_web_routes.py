"""Every route's contract against the ASGI app (no sockets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.webutil import document, raw, web_client
from web.app import WebRuntime

EVIL = '</text><script>alert(1)</script> & "x"'


@pytest.fixture
async def runtime(fake_store: Store) -> AsyncIterator[WebRuntime]:
    settings = Settings(redis_prefix=fake_store.keys.prefix, cors_origins=("https://me.dev",))
    rt = WebRuntime(settings, fake_store)
    yield rt
    await rt.http.aclose()


@pytest.fixture
async def client(runtime: WebRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(runtime) as c:
        yield c


async def test_now_playing_before_any_publish_is_the_empty_document(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/api/now-playing")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {
        "version": 0,
        "updatedAt": 0,
        "stale": True,
        "demo": False,
        "pausedUntil": None,
        "song": None,
    }


async def test_now_playing_serves_the_hubs_document_byte_for_byte(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    runtime.hub.update(raw(document(3)))
    r = await client.get("/api/now-playing")
    assert r.content == raw(document(3))
    assert r.headers["cache-control"] == "no-cache"


async def test_a_matching_if_none_match_gets_304_without_a_body(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    runtime.hub.update(raw(document(3)))
    etag = (await client.get("/api/now-playing")).headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}'):
        r = await client.get("/api/now-playing", headers={"If-None-Match": header})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag


async def test_a_new_version_changes_the_etag(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    runtime.hub.update(raw(document(3)))
    old = (await client.get("/api/now-playing")).headers["etag"]
    runtime.hub.update(raw(document(4)))
    r = await client.get("/api/now-playing", headers={"If-None-Match": old})
    assert r.status_code == 200 and r.headers["etag"] != old


async def test_malformed_if_none_match_gets_the_normal_answer(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/now-playing", headers={"If-None-Match": '""",,,W/'})
    assert r.status_code == 200


async def test_cors_allows_configured_origins_only(client: httpx.AsyncClient) -> None:
    ok = await client.get("/api/now-playing", headers={"Origin": "https://me.dev"})
    assert ok.headers["access-control-allow-origin"] == "https://me.dev"
    other = await client.get("/api/now-playing", headers={"Origin": "https://evil.dev"})
    assert "access-control-allow-origin" not in other.headers


async def test_head_of_the_document_has_its_headers_and_no_body(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    r = await client.head("/api/now-playing")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["etag"] == runtime.hub.etag
    assert int(r.headers["content-length"]) == len(runtime.hub.raw)


async def test_writing_methods_on_the_document_get_405(client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "DELETE"):
        r = await client.request(method, "/api/now-playing")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


async def test_a_cors_preflight_for_the_hot_routes_is_answered(client: httpx.AsyncClient) -> None:
    for path in ("/api/now-playing", "/api/stream"):
        r = await client.options(
            path,
            headers={"Origin": "https://me.dev", "Access-Control-Request-Method": "GET"},
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://me.dev"


async def test_the_stream_applies_the_same_cors_rule(client: httpx.AsyncClient) -> None:
    ok = await client.head("/api/stream", headers={"Origin": "https://me.dev"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://me.dev"
    other = await client.head("/api/stream", headers={"Origin": "https://evil.dev"})
    assert "access-control-allow-origin" not in other.headers


async def test_stream_requests_are_counted_in_the_metrics(client: httpx.AsyncClient) -> None:
    await client.head("/api/stream")
    text = (await client.get("/metrics")).text
    assert 'nowplaying_http_requests_total{route="/api/stream",status="200"} 1.0' in text


async def test_an_older_version_never_replaces_a_newer_one(runtime: WebRuntime) -> None:
    assert runtime.hub.update(raw(document(5)))
    assert not runtime.hub.update(raw(document(4)))
    assert runtime.hub.version == 5


async def test_the_svg_card_escapes_every_text(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    doc = document(2)
    assert doc["song"] is not None
    doc["song"]["name"] = EVIL
    doc["song"]["artists"] = ["<b>&</b>"]
    doc["song"]["albumImageUrl"] = None
    runtime.hub.update(raw(doc))
    r = await client.get("/embed.svg")
    # The contract's type exactly (an SVG without an XML declaration is UTF-8 by XML's rule).
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "no-cache, max-age=0"
    assert "<script>" not in r.text and "&lt;/text&gt;&lt;script&gt;" in r.text
    assert "&amp;" in r.text and "&quot;x&quot;" in r.text
    import xml.etree.ElementTree as ET

    ET.fromstring(r.text)  # well-formed XML


async def test_the_svg_card_has_light_and_dark_themes(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    runtime.hub.update(raw(document(2, song=None)))
    light = (await client.get("/embed.svg?theme=light")).text
    dark = (await client.get("/embed.svg?theme=dark")).text
    assert "#ffffff" in light and "#0d1117" in dark
    assert "Nothing playing yet" in light


async def test_an_unknown_theme_is_a_400(client: httpx.AsyncClient) -> None:
    assert (await client.get("/embed.svg?theme=neon")).status_code == 400


async def test_the_svg_card_tells_paused_and_recent_from_playing(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    doc = document(2)
    assert doc["song"] is not None
    doc["song"]["isPlaying"] = False
    doc["song"]["albumImageUrl"] = None
    runtime.hub.update(raw(doc))
    assert "Paused" in (await client.get("/embed.svg")).text
    doc = document(3)
    assert doc["song"] is not None
    doc["song"].update(
        source="recent", isPlaying=False, playedAt="2020-01-01T00:00:00Z", albumImageUrl=None
    )
    runtime.hub.update(raw(doc))
    assert "Last played · " in (await client.get("/embed.svg")).text


async def test_the_svg_card_inlines_album_art_as_a_data_uri(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    png = b"\x89PNG\r\n\x1a\nfake"
    runtime.art.http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(200, content=png, headers={"content-type": "image/png"})
        )
    )

    async def public(host: str) -> list[str]:  # no DNS in tests: i.scdn.co's public address
        return ["151.101.2.1"]

    runtime.art.resolver = public
    runtime.hub.update(raw(document(2)))
    text = (await client.get("/embed.svg")).text
    assert 'href="data:image/png;base64,' in text and "i.scdn.co" not in text


async def test_the_svg_card_answers_within_a_second_when_the_art_hangs(
    client: httpx.AsyncClient, runtime: WebRuntime
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    runtime.art.http = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    runtime.hub.update(raw(document(2)))
    started = time.monotonic()
    r = await client.get("/embed.svg")
    assert r.status_code == 200 and time.monotonic() - started < 1.0
    assert "Track" in r.text and "data:" not in r.text


async def test_healthz_answers_200(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200


async def test_readyz_is_503_without_a_poller_heartbeat(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 503 and "heartbeat" in r.json()["poller"]


async def test_readyz_is_200_with_a_fresh_heartbeat(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    await fake_store.write_heartbeat({"at": int(time.time() * 1000), "state": "ok"})
    assert (await client.get("/readyz")).status_code == 200


async def test_readyz_is_503_with_an_old_heartbeat(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    await fake_store.write_heartbeat({"at": int(time.time() * 1000) - 20_000, "state": "ok"})
    assert (await client.get("/readyz")).status_code == 503


async def test_readyz_says_what_to_do_on_an_auth_error(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    await fake_store.write_heartbeat(
        {
            "at": int(time.time() * 1000),
            "state": "auth_error",
            "authError": "invalid_grant",
            "setupError": "invalid_grant",
            "tokenAuthorizedAt": int(time.time() * 1000) - 200 * 86_400_000,
        }
    )
    body = (await client.get("/readyz")).json()
    assert body["auth"] == "error" and "nowplaying auth" in body["action"]
    assert body["tokenDaysLeft"] < 0


async def test_readyz_names_the_setup_cause_and_its_one_fix(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    beat = {"at": int(time.time() * 1000), "state": "not_connected", "setupError": "not_configured"}
    await fake_store.write_heartbeat(beat)
    body = (await client.get("/readyz")).json()
    assert body["auth"] == "not connected" and body["setup"] == "not_configured"
    assert "SPOTIFY_CLIENT_ID" in body["action"]


async def test_metrics_expose_subscribers_requests_and_poller_counters(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    await fake_store.add_stats({"poll:ok": 3, "spotify:currently-playing:200": 3})
    await client.get("/api/now-playing")
    text = (await client.get("/metrics")).text
    assert "nowplaying_sse_subscribers 0.0" in text
    assert 'nowplaying_http_requests_total{route="/api/now-playing",status="200"} 1.0' in text
    assert 'nowplaying_poller_polls_total{outcome="ok"} 3.0' in text
    assert 'nowplaying_spotify_calls_total{endpoint="currently-playing",status="200"} 3.0' in text


async def test_the_widget_page_and_script_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "data-nowplaying" in page.text
    script = await client.get("/widget.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in script.text


async def test_login_and_callback_are_404_without_an_admin_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/login")).status_code == 404
    assert (await client.get("/callback?code=x&state=y")).status_code == 404
