"""/api/history and /history.svg against the ASGI app (no sockets), on fakeredis."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.config import Settings
from shared.history import Session, add_sessions
from shared.store import Store
from tests.webutil import document, raw, web_client
from web.app import WebRuntime, build_app
from web.routes import CSP_SVG

EVIL = '</text><script>alert(1)</script> & "x"'


def session(n: int, ended_ms: int, name: str | None = None, **kw: Any) -> Session:
    value: Session = {
        "id": f"s{n}",
        "provider": "spotify",
        "type": "track",
        "name": name or f"Song {n}",
        "artists": ["Artist"],
        "album": "Album",
        "url": f"https://open.spotify.com/track/{n}",
        "imageUrl": None,
        "startedAt": ended_ms - 100_000,
        "endedAt": ended_ms,
        "listenedMs": 100_000,
        "durationMs": 200_000,
        "skipped": True,
        "source": "current",
    }
    return value | kw  # type: ignore[return-value]


@pytest.fixture(autouse=True)
def no_page_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests write the history under a constant hub version: read it every time."""
    monkeypatch.setattr("web.history.CACHE_S", 0.0)


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def make_client(fake_store: Store) -> AsyncIterator[Any]:
    clients: list[tuple[httpx.AsyncClient, WebRuntime]] = []

    async def make(**settings: Any) -> httpx.AsyncClient:
        values = Settings(
            redis_prefix=fake_store.keys.prefix, cors_origins=("https://me.dev",), **settings
        )
        runtime = WebRuntime(values, fake_store)
        transport = httpx.ASGITransport(app=build_app(runtime))
        client = httpx.AsyncClient(transport=transport, base_url="http://np.test")
        clients.append((client, runtime))
        return client

    yield make
    for client, runtime in clients:
        await client.aclose()
        await runtime.http.aclose()


async def test_an_empty_history(make_client: Any) -> None:
    client = await make_client()
    r = await client.get("/api/history")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"items": [], "next": None}


async def test_pages_newest_first_with_a_cursor_to_the_end(
    make_client: Any, fake_store: Store
) -> None:
    base = now_ms() - 10_000_000
    await add_sessions(fake_store, [session(n, base + n * 1000) for n in range(25)], 5000)
    client = await make_client()
    first = (await client.get("/api/history")).json()
    assert [i["name"] for i in first["items"]] == [f"Song {n}" for n in range(24, 4, -1)]
    assert isinstance(first["next"], str)
    second = (await client.get("/api/history", params={"before": first["next"]})).json()
    assert [i["name"] for i in second["items"]] == [f"Song {n}" for n in range(4, -1, -1)]
    assert second["next"] is None
    exact = (await client.get("/api/history", params={"limit": "25"})).json()
    assert len(exact["items"]) == 25 and exact["next"] is None
    one = (await client.get("/api/history", params={"limit": "1"})).json()
    assert len(one["items"]) == 1 and one["next"] is not None
    assert (await client.get("/api/history", params={"limit": "100"})).status_code == 200


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"before": "yesterday"}, "before"),
        ({"before": "-5"}, "before"),
        ({"before": "9" * 40}, "before"),
    ],
)
async def test_a_bad_parameter_is_a_400_that_names_it(
    make_client: Any, query: dict[str, str], named: str
) -> None:
    client = await make_client()
    r = await client.get("/api/history", params=query)
    assert r.status_code == 400 and named in r.text


async def test_etag_and_304_and_cors(make_client: Any, fake_store: Store) -> None:
    await add_sessions(fake_store, [session(1, now_ms() - 60_000)], 5000)
    client = await make_client()
    r = await client.get("/api/history", headers={"Origin": "https://me.dev"})
    assert r.headers["access-control-allow-origin"] == "https://me.dev"
    assert r.headers["cache-control"] == "no-cache"
    etag = r.headers["etag"]
    again = await client.get("/api/history", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    await add_sessions(fake_store, [session(2, now_ms() - 30_000)], 5000)
    changed = await client.get("/api/history", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    other = await client.get("/api/history", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_privacy_delay_shows_a_session_only_once_it_ended_that_long_ago(
    make_client: Any, fake_store: Store
) -> None:
    now = now_ms()
    await add_sessions(
        fake_store, [session(1, now - 600_000), session(2, now - 10_000, name="Too Recent")], 50
    )
    client = await make_client(privacy_delay=300.0)
    body = (await client.get("/api/history")).json()
    assert [i["name"] for i in body["items"]] == ["Song 1"]
    svg = (await client.get("/history.svg")).text
    assert "Too Recent" not in svg and "Song 1" in svg


async def test_under_privacy_delay_the_times_shown_are_on_the_delayed_timeline(
    make_client: Any, fake_store: Store
) -> None:
    # The delayed document's updatedAt and progressAt are moved by the delay; a history
    # that gave the live times would tell every reader the real moment of each play (and
    # the delay itself: the next item's updatedAt less the session's endedAt).
    now = now_ms()
    ended = [now - 900_000, now - 700_000, now - 500_000]
    await add_sessions(fake_store, [session(n, e) for n, e in enumerate(ended)], 50)
    client = await make_client(privacy_delay=300.0)
    first = (await client.get("/api/history?limit=2")).json()
    assert [i["endedAt"] for i in first["items"]] == [ended[2] + 300_000, ended[1] + 300_000]
    assert first["items"][0]["startedAt"] == ended[2] - 100_000 + 300_000
    rest = (await client.get(f"/api/history?limit=2&before={first['next']}")).json()
    assert [i["endedAt"] for i in rest["items"]] == [ended[0] + 300_000]
    assert rest["next"] is None


async def test_the_api_lists_the_contract_fields_and_masks_explicit_titles_on_request(
    make_client: Any, fake_store: Store
) -> None:
    now = now_ms()
    rows = [
        session(1, now - 200_000, name="Clean Song", explicit=False),
        session(2, now - 100_000, name="Filthy Words", explicit=True),
    ]
    await add_sessions(fake_store, rows, 50)
    client = await make_client()
    plain = (await client.get("/api/history")).json()["items"]
    assert [i["name"] for i in plain] == ["Filthy Words", "Clean Song"]
    assert all("explicit" not in i for i in plain)  # the contract's fields, no more
    masked = (await client.get("/api/history?explicit=hide")).json()["items"]
    assert [i["name"] for i in masked] == ["F***** W****", "Clean Song"]
    bad = await client.get("/api/history?explicit=maybe")
    assert bad.status_code == 400 and "explicit" in bad.text


async def test_each_row_of_the_svg_names_the_provider_it_was_read_from(
    make_client: Any, fake_store: Store
) -> None:
    # Spotify's Design Guidelines: metadata read from Spotify is attributed to Spotify;
    # the other providers are named likewise (as the live card's corner names them).
    now = now_ms()
    rows = [
        session(1, now - 300_000, name="From Spotify"),
        session(2, now - 200_000, name="From Lastfm", provider="lastfm", url=None),
        session(3, now - 100_000, name="From Push", provider="push", url=None),
    ]
    await add_sessions(fake_store, rows, 50)
    client = await make_client()
    text = (await client.get("/history.svg")).text
    asides = re.findall(r'text-anchor="end">([^<]*)</text>', text)
    assert [a.split(" · ")[0] for a in asides] == ["Pushed", "Last.fm", "Spotify"]


@pytest.mark.parametrize("delay", [0.0, 30.0])
async def test_while_the_switch_hides_no_session_that_ended_since_the_hide_is_shown(
    make_client: Any, fake_store: Store, delay: float
) -> None:
    # `nowplaying privacy hide` closes the session that played at that moment (the poller
    # records nothing while hidden): it must not surface in the history while the card is
    # dark, least of all under PRIVACY_DELAY, where the card had not shown it yet.
    now = now_ms()
    hidden_at = now - 60_000
    await add_sessions(
        fake_store,
        [
            session(1, hidden_at - 120_000, name="Shown Before"),
            session(2, hidden_at + 2_000, name="Closed By The Hide"),
        ],
        50,
    )
    await fake_store.redis.set(fake_store.keys.privacy, str(hidden_at))
    client = await make_client(privacy_delay=delay)
    body = (await client.get("/api/history")).json()
    assert [i["name"] for i in body["items"]] == ["Shown Before"]
    svg = (await client.get("/history.svg")).text
    assert "Closed By The Hide" not in svg and "Shown Before" in svg
    await fake_store.redis.delete(fake_store.keys.privacy)  # `show`: all of it again
    body = (await client.get("/api/history")).json()
    assert [i["name"] for i in body["items"]] == ["Closed By The Hide", "Shown Before"]


async def test_the_svg_list_card(make_client: Any, fake_store: Store) -> None:
    now = now_ms()
    sessions = [session(n, now - (20 - n) * 60_000) for n in range(12)]
    sessions += [session(20, now - 5000, name="Again"), session(21, now - 1000, name="Again")]
    await add_sessions(fake_store, sessions, 5000)
    client = await make_client()
    r = await client.get("/history.svg", headers={"Origin": "https://me.dev"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["content-security-policy"] == CSP_SVG
    assert r.headers["access-control-allow-origin"] == "https://me.dev"
    text = r.text
    assert text.count(">Again</text>") == 1  # one row: the repeat collapsed
    assert "×2" in text
    assert len(re.findall(r'class="t"', text)) == 5  # default limit 5 rows
    ten = (await client.get("/history.svg", params={"limit": "10", "size": "compact"})).text
    assert len(re.findall(r'class="t"', ten)) == 10


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"limit": "11"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"theme": "purple"}, "theme"),
        ({"accent": "nope"}, "accent"),
        ({"size": "huge"}, "size"),
        ({"art": "maybe"}, "art"),
    ],
)
async def test_the_svg_refuses_a_bad_option_naming_it(
    make_client: Any, query: dict[str, str], named: str
) -> None:
    client = await make_client()
    r = await client.get("/history.svg", params=query)
    assert r.status_code == 400 and named in r.text


async def test_the_svg_escapes_every_text_and_loads_nothing(
    make_client: Any, fake_store: Store
) -> None:
    evil = session(1, now_ms() - 1000, name=EVIL, artists=[EVIL], imageUrl="https://x/y.png")
    await add_sessions(fake_store, [evil], 5000)
    client = await make_client()
    for query in ({}, {"theme": "dark", "bg": "transparent", "accent": "f0a"}, {"art": "hide"}):
        text = (await client.get("/history.svg", params=query)).text
        assert "<script>" not in text and "&lt;script&gt;" in text
        links = re.findall(r'(?:href|src)="([^"]*)"', text) + re.findall(r"url\(([^)]*)\)", text)
        assert all(link.startswith("data:") for link in links)
    assert "prefers-color-scheme" in (await client.get("/history.svg?theme=auto")).text


async def test_an_empty_history_card(make_client: Any) -> None:
    client = await make_client()
    r = await client.get("/history.svg")
    assert r.status_code == 200 and "No plays yet" in r.text


async def test_a_page_is_read_once_per_version_and_second(
    fake_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.history.CACHE_S", 3600.0)
    await add_sessions(fake_store, [session(1, now_ms() - 60_000)], 5000)
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix), fake_store)
    async with web_client(runtime) as client:
        assert len((await client.get("/api/history")).json()["items"]) == 1
        await add_sessions(fake_store, [session(2, now_ms() - 30_000)], 5000)
        assert len((await client.get("/api/history")).json()["items"]) == 1  # cached
        runtime.hub.update(raw(document(1)))  # the next document: a session may have ended
        assert len((await client.get("/api/history")).json()["items"]) == 2
    await runtime.http.aclose()


async def test_pagination_edges(make_client: Any, fake_store: Store) -> None:
    base = now_ms() - 10_000_000
    await add_sessions(fake_store, [session(n, base + n * 1000) for n in range(3)], 5000)
    client = await make_client()
    oldest = str(base)
    past_the_end = (await client.get("/api/history", params={"before": oldest})).json()
    assert past_the_end == {"items": [], "next": None}
    assert (await client.get("/api/history", params={"before": "0"})).json()["items"] == []
    newest_excluded = await client.get("/api/history", params={"before": str(base + 2000)})
    assert [i["name"] for i in newest_excluded.json()["items"]] == ["Song 1", "Song 0"]
    two = (await client.get("/api/history", params={"limit": "2"})).json()
    rest = (await client.get("/api/history", params={"limit": "2", "before": two["next"]})).json()
    assert [i["name"] for i in two["items"] + rest["items"]] == ["Song 2", "Song 1", "Song 0"]
    assert rest["next"] is None
