"""The ListenBrainz-compatible ingest routes, driven with what real clients send
(tests/fixtures/ingest/lb_*.json), and every refusal leaving everything as it was."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from shared.config import HideRule
from shared.pushed import NAME_LIMIT, read_pushed, song_at
from shared.store import Store
from tests.ingestutil import TOKEN, USER, Untouched, client, raw
from web.ingest import PATHS_WITH_BODY
from web.routes import BODY_LIMITS

AUTH = {"Authorization": f"Token {TOKEN}"}


async def now_song(store: Store) -> Any:
    return song_at(await read_pushed(store), int(time.time() * 1000))


async def test_liblistenbrainz_playing_now_without_content_type_becomes_the_playing_item(
    fake_store: Store,
) -> None:
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        # httpx adds no Content-Type for raw `content=`, as requests adds none for `data=`.
        r = await c.post(
            "/1/submit-listens", content=raw("lb_liblistenbrainz_playing_now"), headers=AUTH
        )
        assert "content-type" not in r.request.headers
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert await watch.published() == [b"push"]
    song = await now_song(fake_store)
    assert song["provider"] == "push" and song["isPlaying"] and song["source"] == "current"
    assert song["name"] == "Vantablack" and song["artists"] == ["Dool"]
    assert song["album"] == "Here Now, There Then"
    assert song["progressMs"] == 0 and song["progressAt"] is not None
    assert song["id"] == "e225fb84-dc9a-419e-adcd-9890f59ec432"
    assert song["albumImageUrl"] == (
        "https://coverartarchive.org/release/aa1ea1ac-7ec4-4542-a494-105afbfe547d/front-500.jpg"
    )


async def test_navidrome_playing_now_keeps_each_artist_and_drops_empty_mbids(
    fake_store: Store,
) -> None:
    async with client(fake_store) as c:
        r = await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
    assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["artists"] == ["Daft Punk", "Pharrell Williams"]
    assert song["durationMs"] == 369000 and song["id"] is None and song["images"] == []


async def test_duration_in_seconds_spotify_id_and_origin_url(fake_store: Store) -> None:
    async with client(fake_store) as c:
        body = raw("lb_multiscrobbler_spotify_seconds")
        r = await c.post("/1/submit-listens", content=body, headers=AUTH)
    assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["durationMs"] == 214_000
    assert song["spotifyUrl"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert song["url"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"


async def test_pano_scrobbler_lower_case_token_scheme(fake_store: Store) -> None:
    async with client(fake_store) as c:
        headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}
        r = await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=headers)
        valid = await c.get("/1/validate-token", headers={"Authorization": f"token {TOKEN}"})
    assert r.status_code == 200 and valid.json()["valid"] is True
    song = await now_song(fake_store)
    assert song["name"] == "Runaway" and song["album"] == "" and song["durationMs"] == 248000


async def test_a_single_for_the_playing_item_does_not_end_it(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
        r = await c.post("/1/submit-listens", content=raw("lb_navidrome_single"), headers=AUTH)
        now = await c.get(f"/1/user/{USER}/playing-now")
    assert r.status_code == 200
    record = await read_pushed(fake_store)
    assert record is not None and record.ended is not None
    assert (
        record.ended["source"] == "recent"
        and record.ended["playedAt"] == "2025-11-23T12:10:00.000Z"
    )
    song = await now_song(fake_store)
    assert song["isPlaying"] and song["name"] == "Get Lucky"
    assert now.json()["payload"]["count"] == 1


async def test_a_single_alone_is_the_latest_ended_play(fake_store: Store) -> None:
    async with client(fake_store) as c:
        r = await c.post("/1/submit-listens", content=raw("lb_foobar2000_single"), headers=AUTH)
        now = await c.get(f"/1/user/{USER}/playing-now")
    assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["source"] == "recent" and not song["isPlaying"]
    assert song["name"] == "Roygbiv" and song["playedAt"] == "2025-11-23T12:08:20.000Z"
    assert song["progressMs"] is None and song["progressAt"] is None
    assert now.json()["payload"] == {
        "count": 0,
        "user_id": USER,
        "playing_now": True,
        "listens": [],
    }


async def test_an_import_of_several_listens_keeps_the_newest(fake_store: Store) -> None:
    async with client(fake_store) as c:
        r = await c.post("/1/submit-listens", content=raw("lb_import_three"), headers=AUTH)
    assert r.status_code == 200, r.text
    song = await now_song(fake_store)
    assert song["name"] == "Teardrop" and song["source"] == "recent"


async def test_a_new_playing_now_replaces_the_playing_item(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
        await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=AUTH)
    assert (await now_song(fake_store))["name"] == "Runaway"


async def test_playing_now_resent_for_the_playing_item_keeps_its_start(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
        first = await read_pushed(fake_store)
        await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
        again = await read_pushed(fake_store)
    assert first is not None and again is not None
    assert (again.received_at, again.position_ms) == (first.received_at, first.position_ms)


async def test_playing_now_answers_as_listenbrainz(fake_store: Store) -> None:
    async with client(fake_store) as c:
        empty = await c.get(f"/1/user/{USER}/playing-now")
        await c.post("/1/submit-listens", content=raw("lb_navidrome_playing_now"), headers=AUTH)
        playing = await c.get(f"/1/user/{USER}/playing-now")
        other = await c.get("/1/user/someone-else/playing-now")
    assert empty.status_code == 200 and empty.json()["payload"]["listens"] == []
    listen = playing.json()["payload"]["listens"][0]
    assert listen["playing_now"] is True and listen["user_name"] == USER
    meta = listen["track_metadata"]
    assert meta["track_name"] == "Get Lucky" and meta["release_name"] == "Random Access Memories"
    assert meta["additional_info"]["duration_ms"] == 369000
    assert other.status_code == 404
    assert other.json() == {"code": 404, "error": "Cannot find user: someone-else"}


async def test_validate_token_as_listenbrainz(fake_store: Store) -> None:
    async with client(fake_store) as c:
        right = await c.get("/1/validate-token", headers=AUTH)
        query = await c.get("/1/validate-token", params={"token": TOKEN})
        wrong = await c.get("/1/validate-token", headers={"Authorization": "Token nope"})
        none = await c.get("/1/validate-token")
    want = {"code": 200, "message": "Token valid.", "valid": True, "user_name": USER}
    assert right.status_code == 200 and right.json() == want and query.json() == want
    assert wrong.status_code == 200
    assert wrong.json() == {"code": 200, "message": "Token invalid.", "valid": False}
    assert none.status_code == 400
    assert none.json() == {"code": 400, "error": "You need to provide an Authorization token."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/1/submit-listens"),
        ("GET", "/1/validate-token"),
        ("GET", f"/1/user/{USER}/playing-now"),
        ("POST", "/api/ingest"),
        ("POST", "/api/ingest/webscrobbler"),
    ],
)
async def test_every_ingest_route_is_404_while_ingest_token_is_unset(
    fake_store: Store, method: str, path: str
) -> None:
    async with client(fake_store, ingest_token=None) as c, Untouched(fake_store) as watch:
        r = await c.request(method, path, content=raw("lb_pano_playing_now"), headers=AUTH)
        other = await c.request("PUT" if method == "GET" else "GET", path)
        assert r.status_code == 404 and other.status_code == 404  # not 405 either
        await watch.check()
    async with client(fake_store) as c:
        wrong = await c.request("PUT" if method == "GET" else "GET", path)
    assert wrong.status_code == 405 and wrong.json()["code"] == 405


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "You need to provide an Authorization header."),
        ({"Authorization": "Token"}, "Provided Authorization header is invalid."),
        ({"Authorization": "Token wrong-token"}, "Invalid authorization token."),
        ({"Authorization": f"Token {TOKEN}x"}, "Invalid authorization token."),
    ],
)
async def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    fake_store: Store, headers: dict[str, str], message: str
) -> None:
    async with client(fake_store) as c, Untouched(fake_store) as watch:
        r = await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=headers)
        assert r.status_code == 401
        assert r.json() == {"code": 401, "error": message}
        await watch.check()


async def test_wrong_tokens_are_throttled_but_the_right_one_gets_in(fake_store: Store) -> None:
    body = raw("lb_pano_playing_now")
    async with client(fake_store) as c:
        statuses = [
            (
                await c.post(
                    "/1/submit-listens", content=body, headers={"Authorization": "Token x"}
                )
            ).status_code
            for _ in range(7)
        ]
        assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
        throttled = await c.post(
            "/1/submit-listens", content=body, headers={"Authorization": "Token x"}
        )
        assert "retry-after" in throttled.headers
        right = await c.post("/1/submit-listens", content=body, headers=AUTH)
    assert right.status_code == 200


async def test_past_64_kib_is_413_before_the_body_is_read(fake_store: Store) -> None:
    big = json.dumps({"listen_type": "import", "payload": [], "pad": "x" * 70_000}).encode()

    async def chunks() -> Any:
        for _ in range(70):
            yield b"x" * 1024

    async with client(fake_store) as c, Untouched(fake_store) as watch:
        sized = await c.post("/1/submit-listens", content=big, headers=AUTH)
        chunked = await c.post("/1/submit-listens", content=chunks(), headers=AUTH)
        assert sized.status_code == 413 and chunked.status_code == 413
        assert sized.json()["code"] == 413
        await watch.check()


def listen(**meta: Any) -> dict[str, Any]:
    return {"track_metadata": {"artist_name": "A", "track_name": "T"} | meta}


BAD: list[tuple[str, object, str]] = [
    ("not json", b"{nope", "Cannot parse JSON document"),
    ("a list", [], "Top level of JSON document should be a json object."),
    ("no payload", {"listen_type": "single"}, "the key payload is missing"),
    ("payload object", {"listen_type": "single", "payload": {}}, "should be a list of listens"),
    ("no listens", {"listen_type": "import", "payload": []}, "any listens (payload is empty)"),
    ("listen_type", {"listen_type": "now", "payload": [listen()]}, "valid listen_type key"),
    ("empty listen", {"listen_type": "playing_now", "payload": [{}]}, "(payload[0])"),
    (
        "two singles",
        {"listen_type": "single", "payload": [listen() | {"listened_at": 1763899000}] * 2},
        "It should contain only one (payload).",
    ),
    (
        "listened_at on playing_now",
        {"listen_type": "playing_now", "payload": [listen() | {"listened_at": 1763899000}]},
        "must not contain listened_at while submitting playing_now",
    ),
    (
        "no listened_at",
        {"listen_type": "single", "payload": [listen()]},
        "must contain the key listened_at",
    ),
    (
        "listened_at text",
        {"listen_type": "single", "payload": [listen() | {"listened_at": "soon"}]},
        "must contain an int value for listened_at",
    ),
    (
        "listened_at future",
        {"listen_type": "single", "payload": [listen() | {"listened_at": 4_000_000_000}]},
        "listened_at is too high",
    ),
    (
        "listened_at past",
        {"listen_type": "single", "payload": [listen() | {"listened_at": 1000}]},
        "listened_at is too low",
    ),
    (
        "no track_metadata",
        {"listen_type": "playing_now", "payload": [{"x": 1}]},
        "must contain the key track_metadata",
    ),
    (
        "no track_name",
        {"listen_type": "playing_now", "payload": [{"track_metadata": {"artist_name": "A"}}]},
        "required field track_metadata.track_name",
    ),
    (
        "track_name number",
        {"listen_type": "playing_now", "payload": [listen(track_name=5)]},
        "track_metadata.track_name must be a single string.",
    ),
    (
        "empty artist",
        {"listen_type": "playing_now", "payload": [listen(artist_name="  ")]},
        "field track_metadata.artist_name is empty.",
    ),
    (
        "both durations",
        {
            "listen_type": "playing_now",
            "payload": [listen(additional_info={"duration": 3, "duration_ms": 3000})],
        },
        "should not contain both duration and duration_ms",
    ),
    (
        "negative duration",
        {"listen_type": "playing_now", "payload": [listen(additional_info={"duration_ms": -5})]},
        "Value for duration_ms is invalid",
    ),
    (
        "bad mbid",
        {"listen_type": "playing_now", "payload": [listen(additional_info={"release_mbid": "x"})]},
        "release_mbid MBID format invalid.",
    ),
    (
        "nul",
        {"listen_type": "playing_now", "payload": [listen(track_name="a\x00b")]},
        "track_metadata.track_name: 'a\\x00b' contains a unicode null",
    ),
    (
        "additional_info text",
        {"listen_type": "playing_now", "payload": [listen(additional_info="x")]},
        "track_metadata.additional_info must be a JSON object.",
    ),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD, ids=[b[0] for b in BAD])
async def test_a_malformed_submission_is_400_naming_the_field_and_changes_nothing(
    fake_store: Store, case: str, body: object, message: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with client(fake_store) as c:
        await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=AUTH)
        async with Untouched(fake_store) as watch:
            r = await c.post("/1/submit-listens", content=content, headers=AUTH)
            assert r.status_code == 400, r.text
            assert r.json()["code"] == 400 and message in r.json()["error"]
            await watch.check()


async def test_long_names_are_cut_and_control_characters_stripped(fake_store: Store) -> None:
    body = {
        "listen_type": "playing_now",
        "payload": [listen(track_name="x" * 5000, artist_name="Bad\x07 \x1bArtist\nName")],
    }
    async with client(fake_store) as c:
        r = await c.post("/1/submit-listens", content=json.dumps(body).encode(), headers=AUTH)
    assert r.status_code == 200
    song = await now_song(fake_store)
    assert song["name"] == "x" * NAME_LIMIT and song["artists"] == ["Bad Artist Name"]


def test_each_ingest_post_route_takes_a_body_of_64_kib() -> None:
    limits = {path: BODY_LIMITS.get(path) for path in PATHS_WITH_BODY}
    assert limits == {path: 64 * 1024 for path in PATHS_WITH_BODY}


async def test_playing_now_says_nothing_while_privacy_hides(fake_store: Store) -> None:
    async with client(fake_store) as c:
        await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=AUTH)
        await fake_store.redis.set(fake_store.keys.privacy, "1")
        hidden = await c.get(f"/1/user/{USER}/playing-now")
    assert hidden.json()["payload"]["listens"] == []


async def test_with_privacy_rules_playing_now_shows_only_what_the_document_shows(
    fake_store: Store,
) -> None:
    """PRIVACY_HIDE and PRIVACY_DELAY are applied by the publisher: the route answers from
    the published document then (here none was published: nothing is shown)."""
    rules = (HideRule("artist", "aurora"),)
    async with client(fake_store, privacy_hide=rules) as c:
        await c.post("/1/submit-listens", content=raw("lb_pano_playing_now"), headers=AUTH)
        shown = await c.get(f"/1/user/{USER}/playing-now")
    assert shown.json()["payload"]["listens"] == []
