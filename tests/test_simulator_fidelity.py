"""The simulators answer as the real services do (shapes from Spotify's OpenAPI description
and answers recorded by public projects, named in each simulator's docstring), and the
normalizers read those answers right."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nowplaying.simulator.combined import Simulators, build_simulators
from nowplaying.simulator.player import Player
from nowplaying.simulator.spotify import SimState
from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.providers.listenbrainz.normalize import normalize_listens, normalize_playing_now
from poller.providers.spotify.normalize import normalize_current, normalize_recent
from tests.conftest import ManualClock

BASE = "http://sim.test"
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
LOCAL = 4  # the catalogue's local file


@pytest.fixture
def sims(sim: SimState) -> Simulators:
    return build_simulators(sim)


@pytest.fixture
async def http(sims: Simulators) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sims.app)) as client:
        yield client


def player(sim: SimState) -> Player:
    return sim.player


# -- Spotify --------------------------------------------------------------------------------


def test_currently_playing_carries_a_context_object(sim: SimState) -> None:
    body = player(sim).currently_playing(sim.clock(), {"track", "episode"})
    assert body is not None
    context = body["context"]
    assert set(context) == {"type", "uri", "href", "external_urls"}
    assert context["type"] == "playlist" and context["uri"].startswith("spotify:playlist:")
    assert context["href"].startswith("https://api.spotify.com/v1/playlists/")
    assert context["external_urls"]["spotify"].startswith("https://open.spotify.com/playlist/")
    assert normalize_current(body, sim.clock())  # a context never gets in the way


def test_an_episode_plays_from_its_show(sim: SimState) -> None:
    player(sim).set_state(sim.clock(), index=3)
    body = player(sim).currently_playing(sim.clock(), {"track", "episode"})
    assert body is not None and body["context"]["type"] == "show"
    assert body["item"]["show"]["uri"] == body["context"]["uri"]


def test_catalogue_artists_and_albums_have_ids_and_uris(sim: SimState) -> None:
    player(sim).set_state(sim.clock(), index=1)
    body = player(sim).currently_playing(sim.clock(), {"track"})
    assert body is not None
    item = body["item"]
    for artist in [*item["artists"], *item["album"]["artists"], item["album"]]:
        assert SPOTIFY_ID.match(artist["id"]), artist
        assert artist["uri"] == f"spotify:{artist['type']}:{artist['id']}"
        assert artist["href"].endswith(f"/{artist['type']}s/{artist['id']}")
        assert artist["external_urls"]["spotify"].endswith(f"/{artist['type']}/{artist['id']}")
    assert [a["name"] for a in item["artists"]] == ["Nova Lane", "The Relays"]
    song = normalize_current(body, sim.clock())
    assert song is not None and song["artists"] == ["Nova Lane", "The Relays"]


def test_a_local_file_has_the_real_shape_and_still_renders(sim: SimState) -> None:
    player(sim).set_state(sim.clock(), index=LOCAL)
    body = player(sim).currently_playing(sim.clock(), {"track", "episode"})
    assert body is not None
    item = body["item"]
    assert item["is_local"] is True and item["id"] is None and item["href"] is None
    assert item["uri"] == "spotify:local:The+Basement+Tapes:Home+Demos:home-demo-take-3.mp3:95"
    assert item["external_urls"] == {} and item["album"]["images"] == []
    assert item["album"]["id"] is None and item["album"]["uri"] is None
    assert item["album"]["name"] == "Home Demos"
    assert item["artists"] == [
        {"external_urls": {}, "href": None, "id": None, "name": "The Basement Tapes"}
        | {"type": "artist", "uri": None}
    ]
    assert body["context"] is None
    song = normalize_current(body, sim.clock())
    assert song is not None and song["id"] is None and song["spotifyUrl"] is None
    assert song["url"] is None and song["albumImageUrl"] is None and song["images"] == []
    assert song["artists"] == ["The Basement Tapes"] and song["album"] == "Home Demos"


def test_recently_played_pages_by_cursors_without_a_total(sim: SimState) -> None:
    body = player(sim).recently_played(sim.clock(), 50)
    assert "total" not in body
    after, before = body["cursors"]["after"], body["cursors"]["before"]
    assert isinstance(after, str) and isinstance(before, str) and int(after) > int(before)
    assert body["next"] == (
        f"https://api.spotify.com/v1/me/player/recently-played?before={before}&limit=50"
    )
    assert all(entry["context"]["type"] == "playlist" for entry in body["items"])
    song = normalize_recent(body)
    assert song is not None and song["name"] == "Never Gonna Give You Up"


def test_an_empty_recently_played_has_no_next_page(clock: ManualClock) -> None:
    empty = Player(art_base="http://sim.test/art")
    empty.start(clock.ms())
    body = empty.recently_played(clock.ms(), 50)
    assert body["items"] == [] and body["next"] is None and "total" not in body
    assert normalize_recent(body) is None


# -- Last.fm --------------------------------------------------------------------------------


async def lastfm(http: httpx.AsyncClient) -> Any:
    params = {
        "method": "user.getrecenttracks",
        "user": "sim-user",
        "api_key": "sim-lastfm-key",
        "format": "json",
        "limit": "1",
    }
    return (await http.get(f"{BASE}/lastfm/2.0/", params=params)).json()


async def test_lastfm_images_come_in_its_four_sizes(http: httpx.AsyncClient) -> None:
    body = await lastfm(http)
    tracks = body["recenttracks"]["track"]
    images = tracks[0]["image"]
    assert [i["size"] for i in images] == ["small", "medium", "large", "extralarge"]
    assert [i["#text"].rsplit("-", 1)[1] for i in images] == [
        "34.png",
        "64.png",
        "174.png",
        "300.png",
    ]
    song = normalize_recent_tracks(body)
    assert song is not None and [i["width"] for i in song["images"]] == [300, 174, 64, 34]


async def test_lastfm_art_is_served_in_every_size(http: httpx.AsyncClient) -> None:
    body = await lastfm(http)
    for image in body["recenttracks"]["track"][0]["image"]:
        answer = await http.get(image["#text"])
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"


async def test_lastfm_one_track_is_an_object_not_a_list(
    http: httpx.AsyncClient, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    body = await lastfm(http)
    track = body["recenttracks"]["track"]
    assert isinstance(track, dict) and "date" in track
    song = normalize_recent_tracks(body)
    assert song is not None and song["source"] == "recent" and song["playedAt"] is not None


async def test_lastfm_playing_and_the_last_scrobble_stay_a_list(http: httpx.AsyncClient) -> None:
    body = await lastfm(http)
    assert isinstance(body["recenttracks"]["track"], list)
    assert len(body["recenttracks"]["track"]) == 2  # now playing plus the limit's one


# -- ListenBrainz ---------------------------------------------------------------------------


async def listens(http: httpx.AsyncClient, endpoint: str = "listens") -> Any:
    return (await http.get(f"{BASE}/listenbrainz/1/user/sim-user/{endpoint}")).json()


async def test_listenbrainz_listens_carry_seconds_spotify_urls_and_empty_mbids(
    http: httpx.AsyncClient,
) -> None:
    body = await listens(http)
    info = body["payload"]["listens"][0]["track_metadata"]["additional_info"]
    assert info["duration"] == 213 and "duration_ms" not in info
    assert info["spotify_id"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert info["origin_url"] == info["spotify_id"] and info["music_service"] == "spotify.com"
    assert info["release_mbid"] == "" and info["recording_mbid"] == ""
    song = normalize_listens(body)
    assert song is not None and song["durationMs"] == 213_000
    assert song["spotifyUrl"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert song["albumImageUrl"] is not None  # its mapping names a release


async def test_listenbrainz_a_mapping_without_a_release_has_no_art(
    http: httpx.AsyncClient, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), index=2)
    sim.player.skip(sim.clock())  # "Café del Mar" ends: the newest listen
    body = await listens(http)
    mapping = body["payload"]["listens"][0]["track_metadata"]["mbid_mapping"]
    assert "release_mbid" not in mapping and "caa_id" not in mapping
    song = normalize_listens(body)
    assert song is not None and song["name"].startswith("Café del Mar")
    assert song["albumImageUrl"] is None and song["images"] == []
    assert song["id"] == mapping["recording_mbid"]
    assert song["url"] == f"https://musicbrainz.org/recording/{mapping['recording_mbid']}"


async def test_listenbrainz_playing_now_names_the_spotify_track(http: httpx.AsyncClient) -> None:
    body = await listens(http, "playing-now")
    song = normalize_playing_now(body)
    assert song is not None and song["isPlaying"] and song["durationMs"] == 213_000
    assert song["spotifyUrl"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"


async def test_listenbrainz_a_local_file_has_no_spotify_url_and_no_mapping(
    http: httpx.AsyncClient, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), index=LOCAL)
    sim.player.skip(sim.clock())
    body = await listens(http)
    meta = body["payload"]["listens"][0]["track_metadata"]
    assert "mbid_mapping" not in meta and "spotify_id" not in meta["additional_info"]
    song = normalize_listens(body)
    assert song is not None and song["spotifyUrl"] is None and song["id"] is None
