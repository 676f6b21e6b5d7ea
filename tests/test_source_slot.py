"""Each source's own schedule and back-off (SourceSlot): pure apart from the Source it holds."""

from __future__ import annotations

import random

from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.slot import SourceSlot
from poller.source import SourceError
from shared.document import Song
from tests.scrobble_payloads import lastfm_body, lastfm_now_playing

NOW = 1_000_000


class Never:
    name = "lastfm"

    async def read(self, now_ms: int) -> Song | None:
        raise AssertionError("not called in these tests")

    def take_calls(self) -> dict[str, int]:
        return {}


def slot() -> SourceSlot:
    return SourceSlot(Never())  # type: ignore[arg-type]


def playing() -> Song:
    song = normalize_recent_tracks(lastfm_body(lastfm_now_playing()))
    assert song is not None
    return song


def test_an_answer_schedules_the_next_read_one_interval_later() -> None:
    s = slot()
    s.answered(playing(), NOW, 5.0, 30.0)
    assert s.due_ms == NOW + 5000 and s.status.error is None and s.status.ok_at_ms == NOW


def test_ten_idle_minutes_slow_the_reads_down() -> None:
    s = slot()
    s.answered(None, NOW, 5.0, 30.0)
    s.answered(None, NOW + 600_000, 5.0, 30.0)
    assert s.due_ms == NOW + 600_000 + 30_000


def paused(song_id: str, progress_ms: int) -> Song:
    song = playing()
    return {
        **song,
        "source": "current",
        "isPlaying": False,
        "id": song_id,
        "progressMs": progress_ms,
    }


def test_another_paused_item_than_the_last_read_counts_idle_from_now() -> None:
    """Music played between the two reads: ten minutes from the second before slowing."""
    s = slot()
    s.answered(paused("a", 10_000), NOW, 5.0, 30.0)
    s.answered(paused("b", 40_000), NOW + 600_000, 5.0, 30.0)
    assert s.due_ms == NOW + 600_000 + 5000


def test_an_item_gone_from_the_player_and_back_where_it_was_stays_idle() -> None:
    """A paused device going inactive (204, then the recently-played fallback) and
    coming back is no playing: it must not keep the reads from slowing down."""
    s = slot()
    s.answered(paused("a", 10_000), NOW, 5.0, 30.0)
    s.answered(None, NOW + 300_000, 5.0, 30.0)
    s.answered(paused("a", 10_000), NOW + 600_000, 5.0, 30.0)
    assert s.due_ms == NOW + 600_000 + 30_000


def test_the_same_item_paused_further_on_counts_idle_from_now() -> None:
    s = slot()
    s.answered(paused("a", 10_000), NOW, 5.0, 30.0)
    s.answered(paused("a", 90_000), NOW + 600_000, 5.0, 30.0)
    assert s.due_ms == NOW + 600_000 + 5000


def test_the_same_item_paused_where_it_was_stays_idle() -> None:
    s = slot()
    s.answered(paused("a", 10_000), NOW, 5.0, 30.0)
    s.answered(paused("a", 10_000), NOW + 600_000, 5.0, 30.0)
    assert s.due_ms == NOW + 600_000 + 30_000


def test_an_auth_error_retries_after_five_minutes() -> None:
    s = slot()
    s.failed(SourceError("auth", "bad key"), NOW, 5.0, random.Random(1))
    assert s.due_ms == NOW + 300_000 and s.status.error == "auth"


def test_a_rate_limit_waits_at_least_its_retry_time() -> None:
    s = slot()
    s.failed(SourceError("rate_limited", "29", 60.0), NOW, 5.0, random.Random(1))
    assert s.due_ms >= NOW + 60_000 and s.status.retry_at_ms == NOW + 60_000


def test_failures_back_off_exponentially() -> None:
    s, rng = slot(), random.Random(1)
    delays = []
    for _ in range(5):
        s.failed(SourceError("unavailable", "503"), NOW, 5.0, rng)
        delays.append(s.due_ms - NOW)
    assert delays[-1] > delays[0] and max(delays) <= 60_000


def test_a_failure_keeps_the_last_good_song() -> None:
    s, song = slot(), playing()
    s.answered(song, NOW, 5.0, 30.0)
    s.failed(SourceError("unavailable", "503"), NOW + 5000, 5.0, random.Random(1))
    assert s.status.song is song and s.status.ok_at_ms == NOW
