"""Lanyard presences (tests/fixtures/lanyard/, each naming where its shape comes from) as
the contract's song: `;`-split artists, names cleaned, position from the timestamps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from poller.providers.lanyard.normalize import artists, as_recent, images, normalize_presence
from shared.document import is_song

FIXTURES = Path(__file__).parent / "fixtures" / "lanyard"
START, END = 1615529820677, 1615530068733


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_fixture_says_where_its_shape_comes_from() -> None:
    for path in FIXTURES.glob("*.json"):
        assert "lanyard" in json.loads(path.read_text())["_source"].lower(), path.name


def test_the_readme_example_is_a_playing_track_with_its_position() -> None:
    received = START + 61_234
    song = normalize_presence(fixture("playing"), received)
    assert song is not None and is_song(song)
    assert song["name"] == "Let Go" and song["album"] == "Let Go"
    assert song["artists"] == ["Ark Patrol", "Veronika Redd"]
    assert song["isPlaying"] is True and song["source"] == "current"
    assert song["provider"] == "lanyard" and song["type"] == "track"
    assert song["id"] == "3kdlVcMVsSkbsUy8eQcBjI"
    assert song["spotifyUrl"] == "https://open.spotify.com/track/3kdlVcMVsSkbsUy8eQcBjI"
    assert song["url"] == song["spotifyUrl"]
    assert song["durationMs"] == END - START
    assert song["progressMs"] == 61_234 and song["progressAt"] == received
    assert song["playedAt"] is None and song["explicit"] is None and song["previewUrl"] is None
    art = "https://i.scdn.co/image/ab67616d0000b27364840995fe43bb2ec73a241d"
    assert song["albumImageUrl"] == art
    assert song["images"] == [{"url": art, "width": 640, "height": 640}]


def test_progress_is_capped_at_the_duration_and_never_negative() -> None:
    late = normalize_presence(fixture("playing"), END + 90_000)
    early = normalize_presence(fixture("playing"), START - 5_000)
    assert late is not None and late["progressMs"] == END - START
    assert early is not None and early["progressMs"] == 0


def test_no_spotify_activity_is_nothing_playing() -> None:
    assert normalize_presence(fixture("not_listening"), START) is None
    assert normalize_presence(fixture("offline"), START) is None
    assert normalize_presence(fixture("not_monitored"), START) is None
    assert normalize_presence({}, START) is None and normalize_presence([], START) is None


def test_a_local_file_has_no_id_no_art_no_url_and_still_renders() -> None:
    song = normalize_presence(fixture("local_file"), START + 1_000)
    assert song is not None and is_song(song)
    assert song["name"] == "home-demo-take-3" and song["artists"] == [] and song["album"] == ""
    assert song["id"] is None and song["spotifyUrl"] is None and song["url"] is None
    assert song["albumImageUrl"] is None and song["images"] == []
    assert song["durationMs"] == 95_000 and song["progressMs"] == 1_000


def test_names_are_cleaned_split_on_semicolons_and_missing_art_and_times_are_null() -> None:
    song = normalize_presence(fixture("messy_names"), START)
    assert song is not None and is_song(song)
    assert song["name"] == "Let\ufffd Go (Radio Edit)"
    assert song["artists"] == ["Ark Patrol", "Veronika Redd"]
    assert song["album"] == "Let Go"
    assert song["albumImageUrl"] is None and song["images"] == []
    assert song["durationMs"] is None and song["progressMs"] is None
    assert song["progressAt"] is None


def test_a_malformed_track_id_never_becomes_a_url() -> None:
    payload = fixture("playing")
    payload["data"]["spotify"]["track_id"] = "../../evil?x=1"
    song = normalize_presence(payload, START)
    assert song is not None and song["id"] is None and song["spotifyUrl"] is None


def test_artists_and_images_helpers() -> None:
    assert artists("A;B ; ;C") == ["A", "B", "C"] and artists(None) == []
    assert images("javascript:alert(1)") == [] and images(None) == []
    url = "https://i.scdn.co/image/ab67616d00004851aa"
    assert images(url) == [{"url": url, "width": 64, "height": 64}]
    assert images("https://i.scdn.co/image/other")[0]["width"] is None


def test_a_vanished_track_is_recent_without_a_position() -> None:
    song = normalize_presence(fixture("playing"), START + 10_000)
    assert song is not None
    recent = as_recent(song, START + 20_000)
    assert is_song(recent) and recent["source"] == "recent" and recent["isPlaying"] is False
    assert recent["progressMs"] is None and recent["progressAt"] is None
    assert recent["playedAt"] == "2021-03-12T06:17:20.000Z"
    assert recent["name"] == "Let Go" and recent["durationMs"] == END - START
