"""`POST /api/ingest` and Web Scrobbler's webhook (tests/fixtures/ingest/plain_*.json and
ws_*.json), their art rule, their tokens, and what they log."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from shared.logs import RedactingFilter
from shared.pushed import read_pushed, song_at
from shared.store import Store
from tests.ingestutil import TOKEN, Untouched, client, fixture, raw
from web.app import protect_access_log

BEARER = {"Authorization": f"Bearer {TOKEN}"}
HOOK = f"/api/ingest/webscrobbler?token={TOKEN}"


async def now_song(store: Store) -> Any:
    return song_at(await read_pushed(store), int(time.time() * 1000))


async def test_the_plain_shape_with_position_art_and_link(fake_store: Store) -> None:
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        r = await c.post("/api/ingest", json=fixture("plain_playing"), headers=BEARER)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert await watch.published() == [b"push"]
    song = await now_song(fake_store)
    assert song["name"] == "Midnight City" and song["artists"] == ["M83"]
    assert song["isPlaying"] and song["durationMs"] == 243000
    assert 30000 <= song["progressMs"] <= 31000 or song["progressMs"] == 30000
    assert song["albumImageUrl"] == fixture("plain_playing")["imageUrl"]
    assert song["url"] == "https://m83.bandcamp.com/track/midnight-city"


@pytest.mark.parametrize(
    "image",
    [
        "https://127.0.0.1/x.png",  # not an image host the art policy accepts
        "https://evil.example/cover.jpg",
    ],
)
async def test_https_art_on_a_host_the_art_policy_refuses_is_none(
    fake_store: Store, image: str
) -> None:
    async with client(fake_store) as c:
        body = {"name": "T", "artists": ["A"], "imageUrl": image}
        r = await c.post("/api/ingest", json=body, headers=BEARER)
    assert r.status_code == 200
    song = await now_song(fake_store)
    assert song["albumImageUrl"] is None and song["images"] == []


async def test_pause_resume_and_clear(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post("/api/ingest", json=fixture("plain_playing"), headers=BEARER)
        await c.post("/api/ingest", json={"isPlaying": False}, headers=BEARER)
        paused = await now_song(fake_store)
        await c.post("/api/ingest", json={"isPlaying": True}, headers=BEARER)
        resumed = await now_song(fake_store)
        await c.post("/api/ingest", json={"clear": True}, headers=BEARER)
        cleared = await now_song(fake_store)
    assert paused["isPlaying"] is False and paused["source"] == "current"
    assert paused["progressMs"] >= 30000
    assert resumed["isPlaying"] is True and resumed["progressMs"] >= paused["progressMs"]
    assert cleared is None


async def test_an_episode(fake_store: Store) -> None:
    async with client(fake_store) as c:
        body = {"name": "Ep. 12", "artists": ["A Show"], "type": "episode"}
        await c.post("/api/ingest", json=body, headers=BEARER)
    assert (await now_song(fake_store))["type"] == "episode"


BAD_PLAIN: list[tuple[object, str]] = [
    ({"artists": ["A"]}, "name"),
    ({"name": "", "artists": ["A"]}, "name"),
    ({"name": 5, "artists": ["A"]}, "name"),
    ({"name": "T"}, "artists"),
    ({"name": "T", "artists": "A"}, "artists"),
    ({"name": "T", "artists": [1]}, "artists"),
    ({"name": "T", "artists": []}, "artists"),  # the card would name nobody
    ({"name": "T", "artists": ["\u0001\u0007", "  "]}, "artists"),  # nothing left once cleaned
    ({"name": "T", "artists": ["A"], "durationMs": "long"}, "durationMs"),
    ({"name": "T", "artists": ["A"], "progressMs": -1}, "progressMs"),
    ({"name": "T", "artists": ["A"], "isPlaying": "yes"}, "isPlaying"),
    ({"name": "T", "artists": ["A"], "type": "song"}, "type"),
    ({"name": "T", "artists": ["A"], "imageUrl": 7}, "imageUrl"),
    ({"name": "T", "artists": ["A"], "imageUrl": "http://i.scdn.co/image/abc"}, "imageUrl"),
    ({"name": "T", "artists": ["A"], "imageUrl": "javascript:alert(1)"}, "imageUrl"),
    ({"name": "T", "artists": ["A"], "imageUrl": "https://[::1/x"}, "imageUrl"),
    ({"name": "T", "artists": ["A"], "url": 7}, "url"),
    ({"name": "T", "artists": ["A"], "url": "javascript:alert(1)"}, "url"),
    ({"name": "T", "artists": ["A"], "durationMs": True}, "durationMs"),
    ({"name": "T", "artists": ["A"], "durationMs": 1e300}, "durationMs"),
    ({"name": "T", "artists": ["A"], "clear": "yes"}, "clear"),
    ({"name": "T", "artists": ["A"], "album": ["x"]}, "album"),
    ({}, "name"),
    ([], "json object"),
]


@pytest.mark.parametrize(("body", "field"), BAD_PLAIN)
async def test_a_malformed_plain_submission_is_400_naming_the_field(
    fake_store: Store, body: object, field: str
) -> None:
    async with client(fake_store) as c:
        await c.post("/api/ingest", json=fixture("plain_playing"), headers=BEARER)
        async with Untouched(fake_store) as watch:
            r = await c.post("/api/ingest", content=json.dumps(body).encode(), headers=BEARER)
            assert r.status_code == 400, r.text
            assert field in r.json()["error"]
            await watch.check()


async def test_plain_without_the_bearer_token_is_401(fake_store: Store) -> None:
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        none = await c.post("/api/ingest", json=fixture("plain_playing"))
        wrong = await c.post(
            "/api/ingest", json=fixture("plain_playing"), headers={"Authorization": "Bearer no"}
        )
        assert none.status_code == 401 and wrong.status_code == 401
        await watch.check()


# -- Web Scrobbler -----------------------------------------------------------------------------


async def test_webscrobbler_nowplaying_takes_processed_over_parsed(fake_store: Store) -> None:
    async with client(fake_store) as c:
        r = await c.post(
            HOOK, content=raw("ws_nowplaying"), headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["name"] == "Bohemian Rhapsody" and song["album"] == "A Night at the Opera"
    assert song["artists"] == ["Queen"] and song["durationMs"] == 354_000
    assert song["progressMs"] >= 12_000 and song["isPlaying"]
    assert (
        song["albumImageUrl"] == "https://i.scdn.co/image/ab67616d0000b273ce4f1737bc8a646c8c4bd25a"
    )
    assert song["url"] == "https://music.youtube.com/watch?v=fJ9rUzIMcZQ"


async def test_webscrobbler_pause_resume_and_scrobble(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post(HOOK, content=raw("ws_nowplaying"))
        await c.post(HOOK, content=raw("ws_paused"))
        paused = await now_song(fake_store)
        await c.post(HOOK, content=raw("ws_resumedplaying"))
        resumed = await now_song(fake_store)
        r = await c.post(HOOK, content=raw("ws_scrobble"))
        after = await now_song(fake_store)
    assert paused["isPlaying"] is False and resumed["isPlaying"] is True
    assert r.status_code == 200
    assert after["isPlaying"] and after["name"] == "Bohemian Rhapsody"  # a scrobble while it plays
    record = await read_pushed(fake_store)
    assert record is not None and record.ended is not None
    assert record.ended["playedAt"] == "2025-11-23T12:13:08.000Z"  # metadata.startTimestamp


@pytest.mark.parametrize("started", [99_999_999_999, 4_102_444_800, 1, 0])
async def test_a_scrobble_dated_in_the_future_or_before_2002_counts_from_its_receipt(
    fake_store: Store, started: int
) -> None:
    # metadata.startTimestamp is the client's word: a far-future one would be "the latest
    # play" for ever (no later scrobble is newer) and show a playedAt in year 5138.
    body = fixture("ws_scrobble")
    body["data"]["song"]["metadata"]["startTimestamp"] = started
    before = int(time.time() * 1000)
    async with client(fake_store) as c:
        r = await c.post(HOOK, json=body)
        assert r.status_code == 200, r.text
        record = await read_pushed(fake_store)
        assert record is not None and record.ended_at is not None
        assert before <= record.ended_at <= int(time.time() * 1000)
        later = fixture("ws_scrobble")
        later["data"]["song"]["processed"]["track"] = "Later"
        later["data"]["song"]["metadata"]["startTimestamp"] = int(time.time()) + 1
        await c.post(HOOK, json=later)
    record = await read_pushed(fake_store)
    assert record is not None and record.ended is not None
    assert record.ended["name"] == "Later"


async def test_a_duration_of_zero_is_no_known_duration_not_an_item_over_at_once(
    fake_store: Store,
) -> None:
    # As Web Scrobbler's 0 (a connector that cannot read it): the item plays (10 minutes
    # without a duration), instead of arriving as already ended.
    body = {"name": "T", "artists": ["A"], "durationMs": 0}
    async with client(fake_store) as c:
        r = await c.post("/api/ingest", json=body, headers=BEARER)
        assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["isPlaying"] is True and song["source"] == "current"
    assert song["durationMs"] is None


async def test_bidi_controls_are_stripped_from_pushed_names(fake_store: Store) -> None:
    # U+202E (right-to-left override) and its kin reorder what follows them on the card,
    # the SVG and the PNG: a pushed name could show as another text than it is.
    name = "Evil\u202eSong\u2066x\u2069\u200f"
    body = {"name": name, "artists": ["A\u202dB"], "album": "\u202bAl"}
    async with client(fake_store) as c:
        r = await c.post("/api/ingest", json=body, headers=BEARER)
        assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["name"] == "EvilSongx" and song["artists"] == ["AB"] and song["album"] == "Al"


async def test_webscrobbler_token_in_a_bearer_header_works_too(fake_store: Store) -> None:
    async with client(fake_store) as c:
        r = await c.post("/api/ingest/webscrobbler", content=raw("ws_nowplaying"), headers=BEARER)
    assert r.status_code == 200


async def test_webscrobbler_wrong_or_no_token_is_401(fake_store: Store) -> None:
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        wrong = await c.post("/api/ingest/webscrobbler?token=nope", content=raw("ws_nowplaying"))
        none = await c.post("/api/ingest/webscrobbler", content=raw("ws_nowplaying"))
        assert wrong.status_code == 401 and none.status_code == 401
        await watch.check()


async def test_webscrobbler_other_events_are_accepted_and_change_nothing(fake_store: Store) -> None:
    body = fixture("ws_nowplaying") | {"eventName": "loved"}
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        r = await c.post(HOOK, json=body)
        assert r.status_code == 200  # only 200 counts as success for the extension
        await watch.check()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("eventName"), "eventName"),
        (lambda b: b["data"].pop("song"), "data.song"),
        (lambda b: b["data"].__setitem__("song", "x"), "data.song"),
        (
            lambda b: (
                b["data"]["song"].__setitem__("processed", {})
                or b["data"]["song"]["parsed"].pop("track")
            ),
            "track",
        ),
        (
            lambda b: b["data"]["song"]["parsed"].__setitem__("duration", "long"),
            "data.song.parsed.duration",
        ),
        (
            lambda b: b["data"]["song"]["processed"].__setitem__("artist", 3),
            "data.song.processed.artist",
        ),
    ],
)
async def test_a_malformed_webhook_is_400_naming_the_field(
    fake_store: Store, change: Any, field: str
) -> None:
    body = fixture("ws_nowplaying")
    change(body)
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        r = await c.post(HOOK, json=body)
        assert r.status_code == 400, r.text
        assert field in r.json()["error"]
        await watch.check()


# -- logs ----------------------------------------------------------------------------------------


async def test_one_log_line_per_accepted_submission_without_its_token(
    fake_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "nowplaying.ingest")
    async with client(fake_store) as c:
        await c.post(HOOK, content=raw("ws_nowplaying"))
        await c.post(
            "/api/ingest", json={"name": "T", "artists": []}, headers={"Authorization": "Bearer x"}
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "nowplaying.ingest"]
    accepted = [line for line in lines if line.startswith("push accepted")]
    assert accepted == ["push accepted: webscrobbler nowplaying (1 item)"]
    assert all(TOKEN not in line for line in lines)


def test_the_access_log_masks_the_webhook_token() -> None:
    protect_access_log([TOKEN])
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/api/ingest/webscrobbler?token={TOKEN}", "1.1", 200),
        None,
    )
    for f in access.filters:
        if isinstance(f, RedactingFilter):
            f.filter(record)
    assert TOKEN not in record.getMessage() and "token=***" in record.getMessage()


# -- from a browser: CORS ----------------------------------------------------------------------

PAGE = "https://me.dev"
PUSH_PREFLIGHT = {
    "Origin": PAGE,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.mark.parametrize("origins", [(PAGE,), ("*",)], ids=["one-origin", "any-origin"])
async def test_a_browser_preflight_for_a_push_is_allowed_with_authorization(
    fake_store: Store, origins: tuple[str, ...]
) -> None:
    async with client(fake_store, cors_origins=origins) as c:
        r = await c.options("/api/ingest", headers=PUSH_PREFLIGHT)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] in (PAGE, "*")
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


async def test_a_push_from_an_allowed_origin_is_readable_by_the_page(fake_store: Store) -> None:
    async with client(fake_store, cors_origins=(PAGE,)) as c:
        r = await c.post(
            "/api/ingest", json=fixture("plain_playing"), headers=BEARER | {"Origin": PAGE}
        )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PAGE


async def test_a_push_preflight_from_another_origin_is_not_allowed(fake_store: Store) -> None:
    async with client(fake_store, cors_origins=(PAGE,)) as c:
        r = await c.options("/api/ingest", headers=PUSH_PREFLIGHT | {"Origin": "https://evil.dev"})
    assert "access-control-allow-origin" not in r.headers


async def test_with_ingest_disabled_a_push_preflight_is_refused_as_for_any_api_path(
    fake_store: Store,
) -> None:
    async with client(fake_store, ingest_token=None) as c:
        ingest = await c.options("/api/ingest", headers=PUSH_PREFLIGHT)
        other = await c.options("/api/nothing-here", headers=PUSH_PREFLIGHT)
    assert ingest.status_code == other.status_code != 200
    assert ingest.text == other.text
