"""The week bench's reference (bench/even_bound.py): what a budget allows at best."""

from __future__ import annotations

import math

import pytest

from bench.even_bound import (
    DAY_S,
    bound,
    bound_paying_views,
    even_interval,
    outcome,
    token_hours,
    view_calls,
    worst_window,
)


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


def test_an_hour_long_token_covers_the_calls_of_the_hour_from_its_first_use() -> None:
    assert token_hours([0.0, 1800.0, 3599.0]) == 1
    assert token_hours([0.0, 1800.0, 3600.0, 7300.0]) == 3
    assert token_hours([]) == 0


def test_one_call_makes_every_view_of_one_item_state_right() -> None:
    assert view_calls([4, 4, 4, 7, 7, 9], may_miss=0) == 3


def test_the_views_that_may_be_wrong_spare_the_smallest_states_first() -> None:
    # Six views in three states; two may be wrong: the state with one view is spared,
    # the one with two is not (one more wrong view is allowed, not two).
    assert view_calls([4, 4, 4, 7, 7, 9], may_miss=2) == 2
    assert view_calls([4, 4, 4, 7, 7, 9], may_miss=3) == 1


def test_paying_for_views_and_tokens_leaves_watched_music_a_longer_interval() -> None:
    def watched(t: float) -> bool:
        return 3600 <= t < 3 * 3600

    views = [(4 * 3600 + 60.0 * k, k) for k in range(200)]  # 200 states, a view each
    common = {"start": 0.0, "end": DAY_S, "watched_music": watched, "lifetimes": [8.0]}
    free = bound(**common, budget=1000, least_s=1.0)
    paying = bound_paying_views(**common, views=views, budget=1000, least_s=1.0)
    # 180 of the 200 views must be right (180 calls), and tokens cost 6 (2 for the
    # watched hours, 4 for the 3 h 19 min of views): 814 calls are left for 2 watched hours.
    assert free.interval_s == 7200 / 1000
    assert paying.interval_s == pytest.approx(7200 / 814)
    assert paying.never_shown > free.never_shown


def test_the_week_bench_refuses_fewer_than_one_seed_before_running_a_week() -> None:
    from bench import weeks

    with pytest.raises(SystemExit) as exited:
        weeks.main(["--seeds", "0", "--only", "heavy"], out=lambda _: None)
    assert exited.value.code == 2
