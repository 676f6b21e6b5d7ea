"""Names cleaned once in the normalizer, and documents from
Redis checked whole before anyone serves them."""

from __future__ import annotations

import json
import xml.dom.minidom
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import httpx
import pytest

from poller.providers.spotify.normalize import normalize_current
from shared.config import Settings
from shared.document import MAX_MS, decode, encode, is_document
from shared.store import Store
from shared.text import clean_text
from tests.payloads import currently_playing, track
from tests.webutil import document, raw, web_client
from web.app import WebRuntime
from web.hub import Hub


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\x01", "\x08", "\ufffe", "\uffff", "\x00"])
def test_clean_text_replaces_what_utf8_or_xml_cannot_carry(bad: str) -> None:
    assert clean_text(f"a{bad}b") == "a\ufffdb"


def test_clean_text_keeps_every_other_character_and_is_idempotent() -> None:
    text = 'Café — 東京 <&> "\'" 🎵 \u2028x'
    assert clean_text(text) == 'Café — 東京 <&> "\'" 🎵  x'
    assert clean_text(clean_text(text)) == clean_text(text)


def test_a_lone_surrogate_in_a_name_still_encodes_as_utf8() -> None:
    body = json.loads('{"x": "Bad \\ud800 name"}')["x"]
    song = normalize_current(currently_playing(track(name=body, artists=(body,), album=body)), 1)
    assert song is not None
    doc = document(1) | {"song": song}
    assert decode(encode(doc)) == doc  # would raise UnicodeEncodeError before


def test_xml_invalid_characters_never_reach_the_svg_card() -> None:
    name = "Bad\x01\x08\ufffe name"
    song = normalize_current(currently_playing(track(name=name, artists=(name,), album=name)), 1)
    assert song is not None
    from web.options import ViewOptions
    from web.svg import render_card

    svg = render_card(document(1) | {"song": song}, ViewOptions(), None, 2)  # type: ignore[arg-type]
    xml.dom.minidom.parseString(svg)  # raises on an ill-formed document


DROP = object()


def _broken(**changes: Any) -> bytes:
    """document(5) with fields changed (`song_x` for song fields) or dropped (DROP)."""
    doc: dict[str, Any] = dict(document(5))
    song: dict[str, Any] = dict(doc["song"])
    for key, value in changes.items():
        target, name = (song, key[5:]) if key.startswith("song_") else (doc, key)
        if value is DROP:
            target.pop(name)
        else:
            target[name] = value
    doc.setdefault("song", song)
    if "song" not in changes:
        doc["song"] = song
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {"song": "x"},
        {"stale": DROP},
        {"stale": "no"},
        {"demo": None},
        {"version": True},
        {"version": -1},
        {"updatedAt": 1.5},
        {"pausedUntil": "soon"},
        {"song_name": 7},
        {"song_artists": "Rick"},
        {"song_artists": [1]},
        {"song_images": [{"url": 3}]},
        {"song_images": "x"},
        {"song_isPlaying": "yes"},
        {"song_source": "radio"},
        {"song_durationMs": "long"},
        {"song_albumImageUrl": DROP},
        {"song_explicit": "no"},
        {"song_provider": "tidal"},
    ],
)
def test_decode_refuses_a_document_of_the_wrong_shape(changes: dict[str, Any]) -> None:
    assert decode(_broken(**changes)) is None


def test_a_valid_document_decodes_whole() -> None:
    assert decode(raw(document(5))) == document(5)
    assert is_document(document(5))


def test_a_document_from_an_older_poller_without_the_new_song_fields_is_valid() -> None:
    doc: dict[str, Any] = dict(document(5))
    doc["song"] = {k: v for k, v in doc["song"].items() if k not in ("explicit", "url")}
    doc["song"].pop("provider")
    assert decode(json.dumps(doc)) is not None


def test_the_hub_keeps_the_last_valid_document() -> None:
    hub = Hub()
    assert hub.update(raw(document(5)))
    assert not hub.update(_broken(song="x", version=6))
    assert hub.document == document(5)


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, WebRuntime]]:
    store = Store(fakeredis.FakeAsyncRedis(), "doc")
    runtime = WebRuntime(Settings(redis_prefix="doc"), store)
    async with web_client(runtime) as c:
        yield c, runtime
    await runtime.http.aclose()


@pytest.mark.parametrize("changes", [{"song": "x"}, {"stale": DROP}])
async def test_embed_svg_stays_200_after_a_broken_document_arrives(
    client: tuple[httpx.AsyncClient, WebRuntime], changes: dict[str, Any]
) -> None:
    c, runtime = client
    runtime.hub.update(raw(document(5, "Good Song")))
    runtime.hub.update(_broken(version=6, **changes))
    r = await c.get("/embed.svg")
    assert r.status_code == 200 and "Good Song" in r.text


async def test_a_writer_replacing_a_broken_stored_document_goes_above_its_version() -> None:
    store = Store(fakeredis.FakeAsyncRedis(), "doc")
    await store.redis.set(store.keys.current, _broken(song="x", version=40))
    published = await store.publish(None, stale=False, demo=False, now_ms=1)
    assert published["version"] == 41


@pytest.mark.parametrize(
    "changes",
    [
        {"pausedUntil": 10**20},
        {"updatedAt": 10**20},
        {"song_progressAt": 10**20},
        {"song_durationMs": 10**400},
        {"pausedUntil": -1},
    ],
)
def test_decode_refuses_an_epoch_or_duration_datetime_cannot_hold(
    changes: dict[str, Any],
) -> None:
    assert decode(_broken(**changes)) is None


def test_decode_accepts_the_last_millisecond_datetime_can_format() -> None:
    assert decode(_broken(pausedUntil=MAX_MS)) is not None


@pytest.mark.parametrize("path", ["/embed.svg", "/now.txt", "/api/now-playing"])
async def test_an_absurd_paused_until_leaves_every_view_serving_200(
    client: tuple[httpx.AsyncClient, WebRuntime], path: str
) -> None:
    c, runtime = client
    runtime.hub.update(raw(document(5, "Good Song")))
    runtime.hub.update(_broken(version=6, pausedUntil=10**20))
    r = await c.get(path)
    assert r.status_code == 200 and "Good Song" in r.text
