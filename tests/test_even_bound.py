"""The week bench's reference (bench/even_bound.py): what a budget allows at best."""

from __future__ import annotations

import math

import pytest

from bench.even_bound import DAY_S, bound, even_interval, outcome, worst_window


def test_the_worst_window_is_the_24_hours_with_the_most_demand() -> None:
    # Two hours of demand on day 1, five on day 2 (from 10:00).
    def demand(t: float) -> bool:
        return 0 <= t < 2 * 3600 or DAY_S + 10 * 3600 <= t < DAY_S + 15 * 3600

    at, seconds = worst_window(0.0, 3 * DAY_S, demand)
    assert seconds == 5 * 3600
    assert at <= DAY_S + 10 * 3600 and at + DAY_S >= DAY_S + 15 * 3600


def test_the_even_interval_spends_what_the_other_calls_leave() -> None:
    assert even_interval(7200.0, 1000, 280, 5.0) == 10.0


def test_the_even_interval_is_never_shorter_than_the_poll_interval() -> None:
    assert even_interval(600.0, 1000, 0, 5.0) == 5.0


def test_no_call_left_means_no_poll_at_all() -> None:
    assert even_interval(3600.0, 1000, 1000, 5.0) == math.inf


def test_a_change_shorter_than_the_interval_is_missed_in_proportion() -> None:
    _, missed = outcome([10.0], 40.0)
    assert missed == 0.75


def test_a_change_that_outlives_the_interval_is_seen_within_it() -> None:
    p90, missed = outcome([600.0], 40.0)
    assert missed == 0.0
    assert 30.0 < p90 <= 40.0


def test_the_calls_outside_watched_music_shrink_the_even_pollers_share() -> None:
    # One hour watched; 400 calls the run made outside it in the same day.
    def watched(t: float) -> bool:
        return 3600 <= t < 7200

    requests = [float(10_000 + i) for i in range(400)]
    cheap = bound(
        start=0.0,
        end=DAY_S,
        watched_music=watched,
        requests=[],
        lifetimes=[30.0],
        budget=1000,
        least_s=1.0,
    )
    dear = bound(
        start=0.0,
        end=DAY_S,
        watched_music=watched,
        requests=requests,
        lifetimes=[30.0],
        budget=1000,
        least_s=1.0,
    )
    assert dear.other_calls == 400
    assert dear.interval_s == 6.0 and cheap.interval_s == 3.6
    assert dear.never_shown == 0.0


def test_the_week_bench_refuses_fewer_than_one_seed_before_running_a_week() -> None:
    from bench import weeks

    with pytest.raises(SystemExit) as exited:
        weeks.main(["--seeds", "0", "--only", "heavy"], out=lambda _: None)
    assert exited.value.code == 2
