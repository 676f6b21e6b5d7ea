"""The pure decisions of the daily budget: budget, pacing, next-poll plan, 204 confirmation,
freshness, repeat-one, and the two new variables. No mocks, no I/O."""

from __future__ import annotations

import pytest

from poller import pacing, plan
from poller.changes import should_publish
from poller.providers.spotify.normalize import normalize_current
from shared import budget
from shared.config import load_settings
from shared.document import Document, Song
from shared.freshness import IDLE_WINDOW_S, PLAYING_WINDOW_S, freshness_window_s, needs_poll
from tests.payloads import currently_playing, track

T0 = 1_763_900_000_000
DAY = budget.WINDOW_MS
DURATION = 213_573


def song_at(progress: int, at: int, *, playing: bool = True) -> Song:
    song = normalize_current(
        currently_playing(track(duration_ms=DURATION), progress_ms=progress, is_playing=playing),
        at,
    )
    assert song is not None
    return song


def situation(**changes: object) -> plan.Situation:
    values: dict[str, object] = {
        "now_ms": T0,
        "song": song_at(10_000, T0),
        "watched": True,
        "used": 0,
        "budget": 1000,
        "poll_s": 5.0,
        "idle_poll_s": 30.0,
    }
    values.update(changes)
    return plan.Situation(**values)  # type: ignore[arg-type]


# -- the rolling budget -------------------------------------------------------------------


def test_a_call_is_allowed_while_the_window_holds_fewer_than_the_budget() -> None:
    decision = budget.decide([T0 - 1000] * 9, 10, T0)
    assert decision.allowed and decision.used == 9


def test_the_call_that_would_pass_the_budget_is_refused() -> None:
    assert not budget.decide([T0 - 1000] * 10, 10, T0).allowed


def test_calls_older_than_24_hours_do_not_count() -> None:
    decision = budget.decide([T0 - DAY - 1] * 10 + [T0 - 5] * 3, 10, T0)
    assert decision.allowed and decision.used == 3


def test_a_spent_budget_pauses_until_the_window_frees_a_call() -> None:
    calls = [T0 - DAY + 1000 * (i + 1) for i in range(100)]  # one a second, a day ago
    decision = budget.decide(calls, 100, T0)
    # No cliff: the oldest call leaving the window frees one (the allocator spaces them).
    assert decision.paused_until_ms == calls[0] + DAY


def test_a_budget_lowered_under_the_calls_made_pauses_until_enough_have_left() -> None:
    calls = [T0 - DAY + 1000 * (i + 1) for i in range(100)]
    assert budget.decide(calls, 90, T0).paused_until_ms == calls[10] + DAY


# -- pacing -------------------------------------------------------------------------------


def test_pacing_keeps_poll_interval_while_a_tenth_or_less_is_used() -> None:
    assert pacing.paced_interval(5.0, 100, 1000) == 5.0


def test_pacing_grows_the_interval_as_the_budget_runs_down() -> None:
    intervals = [pacing.paced_interval(5.0, used, 1000) for used in (200, 500, 800, 950)]
    assert intervals == sorted(intervals) and intervals[0] > 5.0


def test_pacing_never_stops_while_a_call_is_left() -> None:
    assert pacing.paced_interval(5.0, 999, 1000) <= pacing.MAX_INTERVAL_S


def test_pacing_reaches_25_seconds_at_sixty_percent() -> None:
    assert pacing.paced_interval(5.0, 600, 1000) == pytest.approx(25.0)


def test_pacing_at_ninety_percent_is_twice_the_comfortable_interval() -> None:
    assert pacing.paced_interval(5.0, 900, 1000) == pytest.approx(50.0)


def test_pacing_is_reported_only_above_a_tenth() -> None:
    assert (pacing.is_pacing(100, 1000), pacing.is_pacing(101, 1000)) == (False, True)


# -- the next-poll plan -------------------------------------------------------------------


def test_a_watched_playing_item_is_polled_at_poll_interval() -> None:
    assert plan.next_poll(situation()) == plan.Plan(5.0, "watched")


def test_a_watched_poller_polls_just_after_the_predicted_end() -> None:
    result = plan.next_poll(situation(song=song_at(DURATION - 2000, T0)))
    assert result.reason == "end" and result.delay_s == pytest.approx(2.4)


def test_a_watched_poller_is_paced_when_the_budget_runs_down() -> None:
    assert plan.next_poll(situation(used=600)).delay_s == pytest.approx(25.0)


def test_an_unwatched_playing_item_is_polled_at_its_predicted_end_while_views_come() -> None:
    result = plan.next_poll(situation(watched=False, views_coming=True))
    assert result.reason == "end" and result.delay_s == pytest.approx(
        (DURATION - 10_000) / 1000 + 0.4
    )


def test_an_unwatched_playing_item_with_views_rare_is_not_polled_at_its_end() -> None:
    result = plan.next_poll(situation(watched=False, views_coming=False))
    assert result == plan.Plan(plan.UNWATCHED_PLAYING_S, "unwatched")


def test_an_unwatched_poller_with_nothing_playing_polls_rarely() -> None:
    result = plan.next_poll(situation(watched=False, song=None))
    assert result == plan.Plan(plan.UNWATCHED_IDLE_S, "unwatched")


def test_a_paused_item_unwatched_is_not_polled_at_its_end() -> None:
    result = plan.next_poll(situation(watched=False, song=song_at(10_000, T0, playing=False)))
    assert result.delay_s == plan.UNWATCHED_IDLE_S


def test_a_watched_poller_idle_for_ten_minutes_uses_idle_poll_interval() -> None:
    result = plan.next_poll(situation(song=None, idle_since_ms=T0 - 600_000))
    assert result == plan.Plan(30.0, "idle")


def test_pacing_stretches_the_idle_interval_by_the_same_factor() -> None:
    result = plan.next_poll(situation(song=None, idle_since_ms=T0 - 600_000, used=600))
    assert result.delay_s == pytest.approx(30.0 * 25.0 / 5.0)


def test_a_204_being_confirmed_is_polled_again_soon() -> None:
    result = plan.next_poll(situation(watched=False, confirming_204=True))
    assert result == plan.Plan(plan.CONFIRM_204_S, "confirm")


def test_a_204_right_after_a_playing_item_is_held_for_confirmation() -> None:
    assert plan.hold_empty_answer(song_at(10_000, T0), confirming=False)


def test_a_second_204_in_a_row_is_believed() -> None:
    assert not plan.hold_empty_answer(song_at(10_000, T0), confirming=True)


def test_a_204_after_a_paused_item_is_believed_at_once() -> None:
    assert not plan.hold_empty_answer(song_at(10_000, T0, playing=False), confirming=False)


# -- freshness of one-shot reads --------------------------------------------------------


def test_the_freshness_window_is_short_while_something_plays() -> None:
    assert freshness_window_s(song_at(0, T0)) == PLAYING_WINDOW_S


def test_the_freshness_window_is_minutes_when_nothing_plays() -> None:
    assert freshness_window_s(None) == IDLE_WINDOW_S


def test_a_read_asks_for_a_poll_when_the_last_is_older_than_the_window() -> None:
    assert needs_poll(song_at(0, T0), T0 - 31_000, T0)


def test_a_read_does_not_ask_while_the_last_poll_is_fresh() -> None:
    assert not needs_poll(song_at(0, T0), T0 - 29_000, T0)


# -- repeat-one -------------------------------------------------------------------------


def test_repeat_one_starting_the_same_item_over_is_a_change() -> None:
    near_end = song_at(DURATION - 1000, T0)
    published: Document = {
        "version": 1,
        "updatedAt": T0,
        "stale": False,
        "demo": False,
        "pausedUntil": None,
        "song": near_end,
    }
    again = song_at(1500, T0 + 2500)  # the end passed 1 s ago, and it began once more
    assert should_publish(published, again, stale=False, demo=False)


# -- configuration ----------------------------------------------------------------------


def test_poll_mode_and_budget_default_to_viewers_and_1000() -> None:
    s = load_settings({})
    assert (s.poll_mode, s.daily_budget) == ("viewers", 1000)


def test_poll_mode_always_is_accepted() -> None:
    assert load_settings({"POLL_MODE": "always"}).poll_mode == "always"


def test_a_call_stamped_by_a_clock_running_ahead_still_counts() -> None:
    assert not budget.decide([T0 + 50] * 10, 10, T0).allowed
