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


def test_the_even_interval_spends_the_whole_budget_over_watched_music() -> None:
    assert even_interval(7200.0, 720, 5.0) == 10.0


def test_the_even_interval_is_never_shorter_than_the_poll_interval() -> None:
    assert even_interval(600.0, 1000, 5.0) == 5.0


def test_no_budget_means_no_poll_at_all() -> None:
    assert even_interval(3600.0, 0, 5.0) == math.inf


def test_a_change_shorter_than_the_interval_is_missed_in_proportion() -> None:
    _, missed = outcome([10.0], 40.0)
    assert missed == 0.75


def test_a_change_that_outlives_the_interval_is_seen_within_it() -> None:
    p90, missed = outcome([600.0], 40.0)
    assert missed == 0.0
    assert 30.0 < p90 <= 40.0


def test_the_bound_holds_the_worst_window_against_the_budget() -> None:
    # Two watched hours on day 1, four on day 2: the reference is day 2's.
    def watched(t: float) -> bool:
        return 3600 <= t < 3 * 3600 or DAY_S + 3600 <= t < DAY_S + 5 * 3600

    best = bound(
        start=0.0,
        end=2 * DAY_S,
        watched_music=watched,
        lifetimes=[30.0, 6.0],
        budget=1000,
        least_s=1.0,
    )
    assert best.watched_h == 4.0
    assert best.interval_s == 4 * 3600 / 1000
    assert 0.0 < best.never_shown < 0.5


def test_the_week_bench_refuses_fewer_than_one_seed_before_running_a_week() -> None:
    from bench import weeks

    with pytest.raises(SystemExit) as exited:
        weeks.main(["--seeds", "0", "--only", "heavy"], out=lambda _: None)
    assert exited.value.code == 2
