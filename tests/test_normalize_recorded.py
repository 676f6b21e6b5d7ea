"""The normalizers on answers recorded by public projects (tests/fixtures/spotify/ and
tests/fixtures/lastfm/, each naming where it comes from): a context object, a local file,
recently-played with cursors and no total, Last.fm's single-object track."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.providers.listenbrainz.normalize import normalize_playing_now
from poller.providers.spotify.normalize import normalize_current, normalize_recent
from shared.document import is_song

FIXTURES = Path(__file__).parent / "fixtures"
NOW = 1_763_900_000_000


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_recorded_fixture_names_its_source() -> None:
    for folder in ("spotify", "lastfm", "listenbrainz"):
        for path in FIXTURES.glob(f"{folder}/*.json"):
            assert json.loads(path.read_text())["_source"], path


def test_a_recorded_answer_with_a_playlist_context() -> None:
    body = fixture("spotify/currently_playing_context")
    assert body["context"]["type"] == "playlist"
    song = normalize_current(body, NOW)
    assert song is not None and is_song(song)
    assert song["name"] == "Bubbly" and song["artists"] == ["Colbie Caillat"]
    assert song["id"] == "1lkvpmrCaXK8QtliFDcHBO" and song["isPlaying"] is False
    assert song["spotifyUrl"] == "https://open.spotify.com/track/1lkvpmrCaXK8QtliFDcHBO"
    assert song["progressMs"] == 102_509 and song["progressAt"] == NOW
    assert [i["width"] for i in song["images"]] == [640, 300, 64]


def test_a_recorded_local_file_has_no_id_no_art_no_url_but_its_names() -> None:
    song = normalize_current(fixture("spotify/currently_playing_local"), NOW)
    assert song is not None and is_song(song)
    assert song["name"] == "929" and song["artists"] == ["Halsey"]
    assert song["album"] == "Manic (Deluxe)"
    assert song["id"] is None and song["spotifyUrl"] is None and song["url"] is None
    assert song["albumImageUrl"] is None and song["images"] == []
    assert song["durationMs"] == 174_000 and song["progressMs"] == 2_270


def test_a_recorded_recently_played_with_cursors_and_no_total() -> None:
    body = fixture("spotify/recently_played")
    assert "total" not in body and set(body["cursors"]) == {"after", "before"}
    song = normalize_recent(body)
    assert song is not None and is_song(song)
    assert song["name"] == "The Sound Of Silence" and song["artists"] == ["Disturbed"]
    assert song["source"] == "recent" and song["playedAt"] == "2017-05-27T20:07:54.721Z"
    assert song["progressMs"] is None and song["progressAt"] is None


def test_a_recorded_lastfm_answer_with_one_track_as_an_object() -> None:
    body = fixture("lastfm/single_track")
    assert isinstance(body["recenttracks"]["track"], dict)
    song = normalize_recent_tracks(body)
    assert song is not None and is_song(song)
    assert song["name"] == "China White III" and song["artists"] == ["He Is Legend"]
    assert song["isPlaying"] is True and song["source"] == "current"
    assert [i["width"] for i in song["images"]] == [300, 174, 64, 34]
    assert song["albumImageUrl"] is not None and "/300x300/" in song["albumImageUrl"]


def test_a_documented_listenbrainz_spotify_listen() -> None:
    song = normalize_playing_now(fixture("listenbrainz/playing_now_spotify"))
    assert song is not None and is_song(song)
    assert song["name"] == "Inssegh Inssegh" and song["artists"] == ["Les Filles de Illighadad"]
    assert song["isPlaying"] is True and song["durationMs"] == 170_000
    assert song["spotifyUrl"] == "https://open.spotify.com/track/1rrgWMXGCGHru5bIRxGFV0"
    assert song["albumImageUrl"] is None and song["progressMs"] is None
