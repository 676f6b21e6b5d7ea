"""The normalizer: Spotify payloads in, the contract's `song` out."""

from __future__ import annotations

from poller.providers.spotify.normalize import normalize_current, normalize_recent
from tests.payloads import currently_playing, episode, image, recently_played, track

NOW = 1_763_900_000_000


def test_a_playing_track_becomes_a_current_song_with_every_contract_field() -> None:
    song = normalize_current(currently_playing(track()), NOW)
    assert song == {
        "isPlaying": True,
        "source": "current",
        "type": "track",
        "id": "4uLU6hMCjMI75M1A2tKUQC",
        "name": "Never Gonna Give You Up",
        "artists": ["Rick Astley"],
        "album": "Whenever You Need Somebody",
        "albumImageUrl": "https://i.scdn.co/image/640",
        "images": [
            image("https://i.scdn.co/image/640", 640),
            image("https://i.scdn.co/image/64", 64),
        ],
        "spotifyUrl": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
        "previewUrl": None,
        "durationMs": 213573,
        "progressMs": 61234,
        "progressAt": NOW,
        "playedAt": None,
        "explicit": False,
        "provider": "spotify",
        "url": "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    }


def test_progress_at_is_the_receive_time_not_spotifys_timestamp() -> None:
    song = normalize_current(currently_playing(track()), NOW)
    assert song is not None and song["progressAt"] == NOW


def test_a_paused_track_is_not_playing() -> None:
    song = normalize_current(currently_playing(track(), is_playing=False), NOW)
    assert song is not None and song["isPlaying"] is False


def test_several_artists_keep_their_order() -> None:
    song = normalize_current(currently_playing(track(artists=("A", "B", "C"))), NOW)
    assert song is not None and song["artists"] == ["A", "B", "C"]


def test_images_are_sorted_largest_first_whatever_order_spotify_sends() -> None:
    imgs = [image("s", 64), image("l", 640), image("m", 300)]
    song = normalize_current(currently_playing(track(images=imgs)), NOW)
    assert song is not None
    assert [i["url"] for i in song["images"]] == ["l", "m", "s"]
    assert song["albumImageUrl"] == "l"


def test_missing_or_empty_images_give_no_album_image() -> None:
    for imgs in ([], [{"width": 3}]):
        song = normalize_current(currently_playing(track(images=imgs)), NOW)
        assert song is not None and song["albumImageUrl"] is None and song["images"] == []


def test_a_local_file_has_no_id_no_images_and_no_url() -> None:
    payload = currently_playing(track(id=None, is_local=True, images=[], name="demo.mp3"))
    song = normalize_current(payload, NOW)
    assert song is not None
    assert (song["id"], song["spotifyUrl"], song["albumImageUrl"]) == (None, None, None)
    assert song["name"] == "demo.mp3"


def test_an_episode_shows_the_publisher_as_artist_and_the_show_as_album() -> None:
    song = normalize_current(currently_playing(episode()), NOW)
    assert song is not None
    assert song["type"] == "episode"
    assert song["artists"] == ["Open Source Radio"]
    assert song["album"] == "The Maintainers Show"
    assert song["albumImageUrl"] == "https://i.scdn.co/image/ep640"


def test_an_episode_whose_show_has_no_publisher_shows_the_show_as_artist() -> None:
    payload = episode()
    del payload["show"]["publisher"]
    song = normalize_current(currently_playing(payload), NOW)
    assert song is not None and song["artists"] == ["The Maintainers Show"]


def test_an_episode_whose_show_has_an_empty_publisher_shows_the_show_as_artist() -> None:
    payload = episode()
    payload["show"]["publisher"] = ""
    song = normalize_current(currently_playing(payload), NOW)
    assert song is not None and song["artists"] == ["The Maintainers Show"]


def test_an_episode_without_images_of_its_own_uses_the_shows() -> None:
    song = normalize_current(currently_playing(episode(own_images=False)), NOW)
    assert song is not None and song["albumImageUrl"] == "https://i.scdn.co/image/show300"


def test_an_episodes_preview_url_is_its_audio_preview_url() -> None:
    song = normalize_current(currently_playing(episode(audio_preview_url="https://p/e.mp3")), NOW)
    assert song is not None and song["previewUrl"] == "https://p/e.mp3"


def test_an_ad_has_no_song() -> None:
    assert normalize_current(currently_playing(None, kind="ad"), NOW) is None


def test_an_unknown_item_type_has_no_song() -> None:
    odd = track() | {"type": "audiobook_chapter"}
    assert normalize_current(currently_playing(odd, kind="unknown"), NOW) is None


def test_an_episode_hidden_by_missing_additional_types_has_no_song() -> None:
    assert normalize_current(currently_playing(None, kind="episode"), NOW) is None


def test_null_progress_gives_null_progress_and_progress_at() -> None:
    song = normalize_current(currently_playing(track(), progress_ms=None), NOW)
    assert song is not None and song["progressMs"] is None and song["progressAt"] is None


def test_progress_beyond_the_duration_is_capped() -> None:
    song = normalize_current(currently_playing(track(duration_ms=1000), progress_ms=5000), NOW)
    assert song is not None and song["progressMs"] == 1000


def test_names_with_markup_and_any_unicode_are_kept_exactly() -> None:
    name = '</text><script>alert(1)</script> & "x" — 東京 🎧'
    song = normalize_current(currently_playing(track(name=name, album="<b>")), NOW)
    assert song is not None and song["name"] == name and song["album"] == "<b>"


def test_garbage_payloads_give_no_song_instead_of_raising() -> None:
    for payload in (None, [], "x", {"item": "x"}, {"item": {"type": "track"}}, 42):
        assert normalize_current(payload, NOW) is None
        assert normalize_recent(payload) is None


def test_recently_played_gives_the_newest_entry_as_a_recent_song() -> None:
    older = (track(id="old", name="Old"), "2026-11-23T10:00:00.000Z")
    newer = (track(id="new", name="New"), "2026-11-23T11:00:00.000Z")
    song = normalize_recent(recently_played(older, newer))
    assert song is not None
    assert (song["name"], song["source"], song["isPlaying"]) == ("New", "recent", False)
    assert song["playedAt"] == "2026-11-23T11:00:00.000Z"
    assert song["progressMs"] is None and song["progressAt"] is None


def test_an_empty_history_gives_no_song() -> None:
    assert normalize_recent(recently_played()) is None


def test_a_track_without_an_explicit_flag_says_unknown() -> None:
    payload = currently_playing(track())
    del payload["item"]["explicit"]
    song = normalize_current(payload, NOW)
    assert song is not None and song["explicit"] is None


def test_a_local_file_has_no_url_at_the_provider() -> None:
    song = normalize_current(currently_playing(track(is_local=True)), NOW)
    assert song is not None and song["url"] is None and song["provider"] == "spotify"
