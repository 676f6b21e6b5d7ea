"""When the poller polls next, and when data turns stale."""

from __future__ import annotations

import random

from poller.plan import watched_delay
from poller.policy import backoff_delay, stale_window_ms
from poller.providers.spotify.normalize import normalize_current
from tests.payloads import currently_playing, track

T0 = 1_763_900_000_000
MIN = 60_000


def playing(progress: int, duration: int = 200_000, *, is_playing: bool = True):  # type: ignore[no-untyped-def]
    return normalize_current(
        currently_playing(track(duration_ms=duration), progress_ms=progress, is_playing=is_playing),
        T0,
    )


def test_playing_polls_at_the_poll_interval() -> None:
    d = watched_delay(now_ms=T0, song=playing(10_000), idle_since_ms=None, poll_s=5, idle_poll_s=30)
    assert d == 5


def test_one_extra_poll_comes_just_after_the_predicted_end() -> None:
    d = watched_delay(
        now_ms=T0, song=playing(198_000), idle_since_ms=None, poll_s=5, idle_poll_s=30
    )
    assert 2.0 < d < 3.0


def test_the_end_prediction_extrapolates_from_progress_at() -> None:
    song = playing(190_000)
    d = watched_delay(now_ms=T0 + 8_000, song=song, idle_since_ms=None, poll_s=5, idle_poll_s=30)
    assert 2.0 < d < 3.0


def test_nothing_playing_for_under_ten_minutes_stays_fast() -> None:
    d = watched_delay(now_ms=T0, song=None, idle_since_ms=T0 - 9 * MIN, poll_s=5, idle_poll_s=30)
    assert d == 5


def test_nothing_playing_for_ten_minutes_goes_slow() -> None:
    d = watched_delay(now_ms=T0, song=None, idle_since_ms=T0 - 10 * MIN, poll_s=5, idle_poll_s=30)
    assert d == 30


def test_paused_counts_as_nothing_playing() -> None:
    song = playing(1000, is_playing=False)
    d = watched_delay(now_ms=T0, song=song, idle_since_ms=T0 - 11 * MIN, poll_s=5, idle_poll_s=30)
    assert d == 30


def test_backoff_grows_and_is_capped_at_sixty_seconds() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 5, rng) for n in range(1, 12)]
    assert all(2.5 <= d <= 60 for d in delays)
    assert max(delays[-3:]) > 30 and delays[0] <= 5


def test_backoff_is_jittered() -> None:
    rng = random.Random(2)
    assert len({round(backoff_delay(5, 5, rng), 6) for _ in range(10)}) > 1


def test_the_stale_window_is_three_intervals_but_at_least_fifteen_seconds() -> None:
    assert stale_window_ms(1) == 15_000
    assert stale_window_ms(5) == 15_000
    assert stale_window_ms(30) == 90_000
