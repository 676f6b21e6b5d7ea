"""ListenBrainz listens to the contract's song, from documented-shape payloads."""

from __future__ import annotations

from poller.providers.listenbrainz.normalize import normalize_listens, normalize_playing_now
from tests.scrobble_payloads import lb_body, lb_listen, lb_playing_now


def test_a_playing_now_listen_is_playing_and_current() -> None:
    song = normalize_playing_now(lb_body(lb_playing_now(), playing_now=True))
    assert song is not None and song["name"] == "Inizgam"
    assert song["isPlaying"] is True and song["source"] == "current" and song["playedAt"] is None


def test_no_playing_now_listen_is_nothing() -> None:
    assert normalize_playing_now(lb_body(playing_now=True)) is None


def test_the_latest_listen_is_recent_with_its_time() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None and song["source"] == "recent" and song["isPlaying"] is False
    assert song["playedAt"] == "2026-02-18T11:28:29.000Z"


def test_the_newest_listen_wins() -> None:
    old = lb_listen(listened_at=1000)
    old["track_metadata"] = dict(old["track_metadata"], track_name="Old")
    song = normalize_listens(lb_body(old, lb_listen()))
    assert song is not None and song["name"] == "Some Resolve"


def test_id_is_the_recording_mbid_and_url_its_page() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None and song["provider"] == "listenbrainz"
    assert song["id"] == "30d08f4c-d825-4ae1-b79c-44242cddd7c0"
    assert song["url"] == "https://musicbrainz.org/recording/30d08f4c-d825-4ae1-b79c-44242cddd7c0"


def test_cover_art_comes_from_the_caa_release_largest_first() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None
    assert song["albumImageUrl"] == (
        "https://coverartarchive.org/release/f1418001-7f1e-46af-bfdb-95faeded8841/32916450708-500.jpg"
    )
    assert [i["width"] for i in song["images"]] == [500, 250]


def test_a_release_mbid_without_caa_id_uses_the_front_image() -> None:
    listen = lb_listen()
    del listen["track_metadata"]["mbid_mapping"]
    song = normalize_listens(lb_body(listen))
    assert song is not None and song["albumImageUrl"] == (
        "https://coverartarchive.org/release/f1418001-7f1e-46af-bfdb-95faeded8841/front-500.jpg"
    )


def test_no_release_mbid_means_no_art() -> None:
    song = normalize_playing_now(lb_body(lb_playing_now(), playing_now=True))
    assert song is not None and song["images"] == [] and song["albumImageUrl"] is None


def test_a_malformed_mbid_gives_no_art_and_no_id() -> None:
    listen = lb_listen()
    listen["track_metadata"]["mbid_mapping"] = {
        "caa_release_mbid": "x/../../evil",
        "recording_mbid": "1",
    }
    listen["track_metadata"]["additional_info"] = {}
    song = normalize_listens(lb_body(listen))
    assert song is not None and song["images"] == [] and song["id"] is None and song["url"] is None


def test_without_mbid_the_id_is_null() -> None:
    song = normalize_playing_now(lb_body(lb_playing_now(), playing_now=True))
    assert song is not None and song["id"] is None and song["url"] is None


def test_the_duration_is_known_but_never_the_position() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None and song["durationMs"] == 402390
    assert song["progressMs"] is None and song["progressAt"] is None


def test_a_duration_in_seconds_is_converted() -> None:
    listen = lb_listen()
    listen["track_metadata"]["additional_info"] = {"duration": 200}
    song = normalize_listens(lb_body(listen))
    assert song is not None and song["durationMs"] == 200_000


def test_a_named_spotify_track_becomes_spotify_url() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None
    assert song["spotifyUrl"] == "https://open.spotify.com/track/7H7RaiZoTNPwjNLygV4fXQ"


def test_unicode_and_credited_artists() -> None:
    song = normalize_listens(lb_body(lb_listen()))
    assert song is not None and song["artists"] == ["Röyksopp"]


def test_a_missing_release_is_an_empty_album() -> None:
    listen = lb_listen()
    del listen["track_metadata"]["release_name"]
    song = normalize_listens(lb_body(listen))
    assert song is not None and song["album"] == ""


def test_a_listen_without_track_name_is_skipped() -> None:
    broken = {"listened_at": 2_000_000_000, "track_metadata": {"artist_name": "x"}}
    song = normalize_listens(lb_body(broken, lb_listen()))
    assert song is not None and song["name"] == "Some Resolve"


def test_garbage_is_nothing_known() -> None:
    assert normalize_listens({"payload": {"listens": "no"}}) is None
    assert normalize_playing_now("nope") is None
