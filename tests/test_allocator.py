"""The allocator's pure decisions (poller/allocator.py) and the plan it feeds: spreading
the budget over the demand, coalescing wake-ups, the stuck-track and outage back-offs,
the learnt quota and the later of two pauses. No mocks, no I/O, no timing."""

from __future__ import annotations

from poller import allocator, plan
from poller.providers.spotify.normalize import normalize_current
from shared import budget
from shared.document import Song
from tests.payloads import currently_playing, track

T0 = 1_764_460_800_000  # a Monday, 00:00 UTC
HOUR = allocator.HOUR_MS
DAY = budget.WINDOW_MS
DURATION = 180_000


def flat(demand_s: float, fixed: float = 4.0) -> allocator.Profile:
    return allocator.Profile((demand_s,) * 24, (fixed,) * 24)


def interval(calls: list[int], profile: allocator.Profile, *, now: int = T0, **kw: bool) -> float:
    return allocator.interval_s(calls, 1000, now, profile, 5.0, **kw)


def song_at(progress: int, at: int) -> Song:
    song = normalize_current(
        currently_playing(track(duration_ms=DURATION), progress_ms=progress, is_playing=True), at
    )
    assert song is not None
    return song


# -- spreading the budget -----------------------------------------------------------------


def test_a_tenth_of_the_budget_is_spent_at_poll_interval() -> None:
    assert interval([T0 - 1000] * 99, flat(3600)) == 5.0


def test_the_steady_interval_is_the_demand_over_the_calls_left_for_it() -> None:
    calls = [T0 - DAY + 1000 * i for i in range(200)]  # all free again within the day
    # 6 h of demand a day, 4 fixed calls an hour, a reserve of a twentieth kept back.
    expected = 6 * 3600 / (1000 - 24 * 4 - 50)
    assert abs(interval(calls, flat(900)) - expected) < 1.0


def test_calls_spent_evenly_keep_the_interval_until_the_margin() -> None:
    profile = flat(900)
    spread = [
        [T0 - DAY + (i + 1) * (DAY // used) for i in range(used)] for used in range(200, 960, 60)
    ]
    steps = [interval(calls, profile) for calls in spread]
    assert steps == sorted(steps)
    assert steps[-1] < 1.2 * steps[0] < 40  # what frees as fast as it was spent is there


def test_calls_spent_in_a_burst_stretch_the_interval_long_before_the_budget_is_gone() -> None:
    profile = flat(900)
    steps = [interval([T0 - HOUR] * used, profile) for used in (200, 400, 600, 700)]
    assert steps == sorted(steps)
    assert steps[0] < 40 < 100 < steps[-1] < allocator.MAX_INTERVAL_S


def test_calls_freeing_soon_shorten_the_interval() -> None:
    late = interval([T0 - 2 * HOUR] * 800, flat(900))  # free in 22 h
    soon = interval([T0 - DAY + HOUR] * 800, flat(900))  # free in 1 h
    assert soon < late


def test_demand_going_on_now_is_expected_to_go_on() -> None:
    calls = [T0 - HOUR] * 600
    assert interval(calls, flat(100), demand_now=True) > interval(calls, flat(100))


def test_no_call_left_for_demand_is_the_longest_interval() -> None:
    assert interval([T0 - HOUR] * 990, flat(900)) == allocator.MAX_INTERVAL_S


def test_the_profile_leans_towards_the_busiest_day_of_each_hour() -> None:
    hours = [(day * 24 + 20, demand, 3.0) for day, demand in enumerate((0.0, 0.0, 3600.0))]
    profile = allocator.profile_from(hours)
    assert 1200 < profile.demand_s[20] < 3600
    assert profile.demand_s[3] == allocator.PRIOR_DEMAND_S  # never seen: the prior


def moving_sessions(days: int) -> list[tuple[int, float, float]]:
    """Two hours of demand a day that move: 08:00 one day, 20:00 the next, and so on."""
    hours = []
    for day in range(days):
        busy = (8, 9) if day % 2 == 0 else (20, 21)
        hours += [(day * 24 + h, 3600.0 if h in busy else 0.0, 4.0) for h in range(24)]
    return hours


def test_a_day_holds_no_more_demand_than_the_busiest_whole_day_seen() -> None:
    profile = allocator.profile_from(moving_sessions(4))
    assert profile.day_demand_s == 2 * 3600.0
    # Each hour leans towards its busiest, so the hours sum to more than any day held.
    assert sum(profile.demand_s) > 2 * 3600.0


def test_sessions_that_move_are_planned_at_the_busiest_day_not_the_sum_of_busy_hours() -> None:
    capped = allocator.profile_from(moving_sessions(4))
    uncapped = allocator.Profile(capped.demand_s, capped.fixed)
    calls = [T0 - DAY + 60_000 * i for i in range(500)]  # all free again within the day
    assert interval(calls, capped) < interval(calls, uncapped)


def test_a_profile_without_a_whole_day_has_no_day_cap() -> None:
    profile = allocator.profile_from(moving_sessions(1)[:12])
    assert profile.day_demand_s is None and profile.day_fixed is None


# -- wake-ups -----------------------------------------------------------------------------


def test_a_wake_up_costs_a_call_only_an_interval_after_the_last() -> None:
    assert allocator.demand_call_at(T0 - 40_000, T0, 30.0, idle=False) == T0
    assert allocator.demand_call_at(T0 - 10_000, T0, 30.0, idle=False) == T0 + 20_000


def test_wake_ups_while_idle_cost_at_most_six_calls_an_hour_when_views_keep_coming() -> None:
    last, now, calls = T0, T0, 0
    while now < T0 + HOUR:
        now += 10_000  # a view every 10 s, all idle
        if allocator.demand_call_at(last, now, 5.0, idle=True, busy=True) == now:
            last, calls = now, calls + 1
    assert calls <= 6


# -- the track-end re-poll ----------------------------------------------------------------


def stuck_calls(watched: bool, hours: float = 1.0) -> int:
    """Polls in `hours` of a player reporting the item playing at its end, by the plan."""
    now, calls, repolls = T0, 0, 0
    while now < T0 + hours * HOUR:
        calls += 1
        song = song_at(DURATION, now)  # Spotify says: still playing, at its very end
        repolls += 1
        situation = plan.Situation(
            now_ms=now,
            song=song,
            watched=watched,
            used=300,
            budget=1000,
            poll_s=5.0,
            idle_poll_s=30.0,
            allotted_s=allocator.MAX_INTERVAL_S if watched else 30.0,
            end_repolls=repolls,
        )
        now += int(plan.next_poll(situation).delay_s * 1000)
    return calls


def test_an_unwatched_track_end_is_polled_while_views_come_every_minute() -> None:
    assert allocator.end_for_views(allocator.END_VIEWS_PER_HOUR, since_last_view_s=20.0)


def test_an_unwatched_track_end_costs_no_call_when_views_are_rare() -> None:
    # Eight views an hour: the next one asks for its own poll, well after the end.
    assert not allocator.end_for_views(8, since_last_view_s=20.0)


def test_an_unwatched_track_end_costs_no_call_once_views_stopped() -> None:
    busy = allocator.END_VIEWS_PER_HOUR * 2
    assert not allocator.end_for_views(busy, since_last_view_s=allocator.LOOKED_AT_S + 1)
    assert not allocator.end_for_views(0, since_last_view_s=None)


def test_a_stuck_track_costs_at_most_ten_calls_in_an_hour() -> None:
    assert stuck_calls(watched=False) <= 10
    assert stuck_calls(watched=False, hours=8) <= 10 + 7 * 3


def test_a_player_a_second_late_costs_one_more_call() -> None:
    assert allocator.stuck_delay(1) == 1.0 and allocator.stuck_delay(2) == 3.0


def test_a_predicted_end_is_polled_at_once_while_calls_suffice() -> None:
    assert allocator.end_delay(0.4, 60.0) == 0.4
    assert allocator.end_delay(0.4, 600.0) == 600.0 - allocator.END_FREE_S


# -- outages, the learnt quota, pauses ----------------------------------------------------


def test_an_outage_is_retried_a_bounded_number_of_times_an_hour() -> None:
    waited, retries = 0.0, 0
    while waited < 4 * 3600:
        retries += 1
        waited += max(allocator.outage_delay(retries), 5.0)
    assert retries <= allocator.OUTAGE_FREE_RETRIES + 3 + 4 * 3600 / allocator.OUTAGE_MAX_S


def test_the_calls_before_quota_exceeded_become_the_quota() -> None:
    learnt = budget.learnt_quota(1101)  # the 1,101st call was the refused one
    assert learnt == 1100
    assert budget.effective_budget(5000, learnt) == int(1100 * budget.LEARNT_SHARE)
    assert budget.effective_budget(1000, learnt) == 1000
    assert budget.effective_budget(1000, None) == 1000


def test_paused_until_is_the_later_of_the_quota_and_the_budget_pause() -> None:
    assert allocator.paused_until(T0 + 1000, T0 + 5000) == T0 + 5000
    assert allocator.paused_until(T0 + 9000, T0 + 5000) == T0 + 9000
    assert allocator.paused_until(None, T0 + 5000) == T0 + 5000
    assert allocator.paused_until(None, None) is None
