"""Last.fm recent tracks to the contract's song, from documented-shape payloads."""

from __future__ import annotations

from poller.providers.lastfm.normalize import normalize_recent_tracks
from tests.scrobble_payloads import (
    STAR,
    lastfm_body,
    lastfm_images,
    lastfm_now_playing,
    lastfm_track,
)


def test_the_now_playing_item_is_playing_and_current() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_now_playing(), lastfm_track()))
    assert song is not None and song["name"] == "Apocalypse Dreams"
    assert song["isPlaying"] is True and song["source"] == "current" and song["playedAt"] is None


def test_without_now_playing_the_latest_scrobble_is_recent_with_its_time() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track()))
    assert song is not None and song["source"] == "recent" and song["isPlaying"] is False
    assert song["playedAt"] == "2020-10-20T10:03:58.000Z"


def test_the_newest_scrobble_wins_whatever_the_order() -> None:
    old = lastfm_track(name="Old", date={"uts": "1000"})
    new = lastfm_track(name="New", date={"uts": "2000"})
    song = normalize_recent_tracks(lastfm_body(old, new))
    assert song is not None and song["name"] == "New"


def test_provider_url_and_recording_mbid() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track()))
    assert song is not None and song["provider"] == "lastfm"
    assert song["url"] == "https://www.last.fm/music/Tame+Impala/_/Feels+Like+We+Only+Go+Backwards"
    assert song["id"] == "1587517a-9b2b-385a-b044-673fddf88004"


def test_scrobblers_know_no_position_nor_explicit_flag() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_now_playing()))
    assert song is not None
    assert (song["durationMs"], song["progressMs"], song["progressAt"]) == (None, None, None)
    assert song["explicit"] is None and song["spotifyUrl"] is None and song["previewUrl"] is None


def test_images_are_largest_first() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track()))
    assert song is not None and [i["width"] for i in song["images"]] == [300, 174, 64, 34]
    assert song["albumImageUrl"] == song["images"][0]["url"]


def test_empty_image_urls_are_dropped() -> None:
    blank = [{"size": s, "#text": ""} for s in ("small", "medium", "large", "extralarge")]
    song = normalize_recent_tracks(lastfm_body(lastfm_track(image=blank)))
    assert song is not None and song["images"] == [] and song["albumImageUrl"] is None


def test_the_placeholder_star_is_dropped() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track(image=lastfm_images(STAR))))
    assert song is not None and song["images"] == []


def test_missing_images_give_no_art() -> None:
    track = lastfm_track()
    del track["image"]
    song = normalize_recent_tracks(lastfm_body(track))
    assert song is not None and song["albumImageUrl"] is None


def test_an_empty_mbid_gives_a_null_id() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track(mbid="")))
    assert song is not None and song["id"] is None


def test_a_missing_album_is_an_empty_album_name() -> None:
    track = lastfm_track()
    del track["album"]
    song = normalize_recent_tracks(lastfm_body(track))
    assert song is not None and song["album"] == ""


def test_unicode_names_pass_through_unchanged() -> None:
    track = lastfm_track(name="Café del Mar — 東京", artist={"#text": "Sóley", "mbid": ""})
    song = normalize_recent_tracks(lastfm_body(track))
    assert (
        song is not None and song["name"] == "Café del Mar — 東京" and song["artists"] == ["Sóley"]
    )


def test_a_single_track_as_an_object_is_read() -> None:
    body = {"recenttracks": {"@attr": {}, "track": lastfm_track()}}
    song = normalize_recent_tracks(body)
    assert song is not None and song["name"] == "Feels Like We Only Go Backwards"


def test_extended_artist_objects_use_their_name() -> None:
    track = lastfm_track(artist={"name": "Tame Impala", "mbid": "", "url": "https://x"})
    song = normalize_recent_tracks(lastfm_body(track))
    assert song is not None and song["artists"] == ["Tame Impala"]


def test_a_url_without_scheme_gets_https() -> None:
    track = lastfm_track(url="www.last.fm/music/Aretha+Franklin/_/Sisters")
    song = normalize_recent_tracks(lastfm_body(track))
    assert song is not None and song["url"] == "https://www.last.fm/music/Aretha+Franklin/_/Sisters"


def test_a_javascript_url_is_dropped() -> None:
    song = normalize_recent_tracks(lastfm_body(lastfm_track(url="javascript:alert(1)")))
    assert song is not None and song["url"] is None


def test_no_tracks_is_nothing_known() -> None:
    assert normalize_recent_tracks(lastfm_body()) is None


def test_garbage_is_nothing_known() -> None:
    assert normalize_recent_tracks({"recenttracks": "nope"}) is None
    assert normalize_recent_tracks([1, 2]) is None


def test_an_image_url_that_is_not_http_is_dropped() -> None:
    image = [{"size": "extralarge", "#text": "javascript:alert(1)"}]
    song = normalize_recent_tracks(lastfm_body(lastfm_track(image=image)))
    assert song is not None and song["images"] == []
