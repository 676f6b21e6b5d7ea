"""The change detector: the contract's definition of a change."""

from __future__ import annotations

from poller.changes import should_publish
from poller.providers.spotify.normalize import normalize_current, normalize_recent
from shared.document import Document, Song
from tests.payloads import currently_playing, recently_played, track

T0 = 1_763_900_000_000


def song_at(progress: int, at: int, *, playing: bool = True, id: str = "a") -> Song:
    song = normalize_current(
        currently_playing(track(id=id), progress_ms=progress, is_playing=playing), at
    )
    assert song is not None
    return song


def doc(song: Song | None, *, stale: bool = False, demo: bool = False) -> Document:
    return {
        "version": 1,
        "updatedAt": T0,
        "stale": stale,
        "demo": demo,
        "pausedUntil": None,
        "song": song,
    }


def test_the_first_result_is_always_published() -> None:
    assert should_publish(None, None, stale=False, demo=False)


def test_natural_progress_publishes_nothing() -> None:
    previous = doc(song_at(10_000, T0))
    assert not should_publish(previous, song_at(15_000, T0 + 5_000), stale=False, demo=False)


def test_a_small_drift_within_three_seconds_publishes_nothing() -> None:
    previous = doc(song_at(10_000, T0))
    assert not should_publish(previous, song_at(17_900, T0 + 5_000), stale=False, demo=False)


def test_a_seek_forward_beyond_three_seconds_is_a_change() -> None:
    previous = doc(song_at(10_000, T0))
    assert should_publish(previous, song_at(18_100, T0 + 5_000), stale=False, demo=False)


def test_a_seek_backwards_is_a_change() -> None:
    previous = doc(song_at(60_000, T0))
    assert should_publish(previous, song_at(1_000, T0 + 5_000), stale=False, demo=False)


def test_a_paused_song_that_stays_put_publishes_nothing() -> None:
    previous = doc(song_at(10_000, T0, playing=False))
    later = song_at(10_000, T0 + 60_000, playing=False)
    assert not should_publish(previous, later, stale=False, demo=False)


def test_pausing_is_a_change() -> None:
    previous = doc(song_at(10_000, T0))
    assert should_publish(
        previous, song_at(15_000, T0 + 5_000, playing=False), stale=False, demo=False
    )


def test_another_item_is_a_change() -> None:
    previous = doc(song_at(10_000, T0))
    assert should_publish(previous, song_at(15_000, T0 + 5_000, id="b"), stale=False, demo=False)


def test_falling_back_to_recent_is_a_change_of_source() -> None:
    previous = doc(song_at(10_000, T0, id="4uLU6hMCjMI75M1A2tKUQC"))
    recent = normalize_recent(recently_played((track(), "2026-11-23T11:00:00Z")))
    assert should_publish(previous, recent, stale=False, demo=False)


def test_the_same_recent_song_again_publishes_nothing() -> None:
    recent = normalize_recent(recently_played((track(), "2026-11-23T11:00:00Z")))
    again = normalize_recent(recently_played((track(), "2026-11-23T11:00:00Z")))
    assert not should_publish(doc(recent), again, stale=False, demo=False)


def test_a_stale_flip_is_a_change_in_both_directions() -> None:
    song = song_at(10_000, T0)
    assert should_publish(doc(song), song, stale=True, demo=False)
    assert should_publish(doc(song, stale=True), song, stale=False, demo=False)


def test_a_demo_flip_is_a_change() -> None:
    song = song_at(10_000, T0)
    assert should_publish(doc(song), song, stale=False, demo=True)


def test_nothing_after_something_is_a_change() -> None:
    assert should_publish(doc(song_at(1, T0)), None, stale=False, demo=False)
    assert not should_publish(doc(None), None, stale=False, demo=False)


def test_local_files_without_ids_are_told_apart_by_what_is_shown() -> None:
    a = normalize_current(currently_playing(track(id=None, is_local=True, name="a.mp3")), T0)
    b = normalize_current(currently_playing(track(id=None, is_local=True, name="b.mp3")), T0)
    assert should_publish(doc(a), b, stale=False, demo=False)


def test_setting_and_clearing_paused_until_are_changes() -> None:
    song = song_at(10_000, T0)
    paused = doc(song) | {"pausedUntil": T0 + 3_600_000}
    assert should_publish(doc(song), song, stale=True, demo=False, paused_until=T0 + 1)
    assert should_publish(paused, song, stale=True, demo=False, paused_until=None)  # type: ignore[arg-type]


def test_the_same_pause_again_publishes_nothing() -> None:
    song = song_at(10_000, T0)
    paused = doc(song, stale=True) | {"pausedUntil": T0 + 3_600_000}
    assert not should_publish(paused, song, stale=True, demo=False, paused_until=T0 + 3_600_000)  # type: ignore[arg-type]


def test_the_same_title_from_another_provider_is_another_item() -> None:
    song = song_at(10_000, T0)
    other = song | {"provider": "lastfm"}
    assert should_publish(doc(song), other, stale=False, demo=False)  # type: ignore[arg-type]
