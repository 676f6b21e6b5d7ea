"""When to poll next: the whole schedule as one pure function of what is known now.

The poller computes the next wake time with `next_poll`; a driver runs it: APScheduler in
production (poller/service.py), a discrete-event loop on a simulated clock in
bench/quota_week.py. Nothing here reads a clock or does I/O, which is what lets the
benchmark drive the same decisions through a simulated week.

- watched (an SSE stream is open, or POLL_MODE=always): the paced interval (pacing.py),
  or just after the predicted end of the item when that comes sooner; after 10 minutes
  with nothing playing, IDLE_POLL_INTERVAL, stretched by the same pacing factor;
- unwatched: just after the predicted end of the item while something plays and one-shot
  views keep coming (`views_coming`: about one a minute, allocator.end_for_views), else
  at most UNWATCHED_PLAYING_S apart;
  UNWATCHED_IDLE_S when nothing plays. One-shot views wake the poller in between
  (shared/freshness.py), so with nobody looking a track end costs no call;
- a 204 right after a playing item is confirmed CONFIRM_204_S later before it is shown
  (later when the allocator is short of calls);
- an item reported playing at or past its end is re-polled after 1, 3, 9 ... s
  (allocator.stuck_delay), watched or not: a stuck player costs a few calls an hour.

`allotted_s`, when given, is the allocator's interval (poller/allocator.py) and replaces
the pacing rule, which remains the schedule of a caller that has no allocator.
"""

from __future__ import annotations

from dataclasses import dataclass

from poller import allocator, pacing
from poller.changes import expected_progress
from poller.policy import END_OF_TRACK_SLACK_S, IDLE_AFTER_MS, is_playing
from shared.document import Song

UNWATCHED_PLAYING_S = 600.0
UNWATCHED_IDLE_S = 3600.0
# Sources without a daily quota (the scrobblers, Lanyard, push) read this sparsely with no
# stream open; a one-shot view wakes them at once, so a README card still shows what plays.
FREE_UNWATCHED_PLAYING_S = 60.0
FREE_UNWATCHED_IDLE_S = 600.0
CONFIRM_204_S = 2.0
MIN_DELAY_S = 0.2


@dataclass(frozen=True)
class Situation:
    """What the poller knows after a poll."""

    now_ms: int
    song: Song | None
    watched: bool
    used: int  # Spotify calls in the rolling 24 h
    budget: int
    poll_s: float
    idle_poll_s: float
    idle_since_ms: int | None = None
    confirming_204: bool = False
    allotted_s: float | None = None  # the allocator's interval for demand calls
    end_repolls: int = 0  # polls in a row that found the item playing at or past its end
    views_coming: bool = True  # views about once a minute (unwatched: ends are worth a call)


@dataclass(frozen=True)
class Plan:
    delay_s: float
    reason: str  # "confirm", "end", "stuck", "watched", "idle", "unwatched"


def seconds_to_end(song: Song | None, now_ms: int) -> float | None:
    """Seconds until the playing item ends naturally, or None when unknown."""
    if song is None or not is_playing(song) or song["durationMs"] is None:
        return None
    position = expected_progress(song, now_ms)
    if position is None:
        return None
    return max(0.0, (song["durationMs"] - position) / 1000)


def next_poll(s: Situation) -> Plan:
    """Seconds until the next poll, and why."""
    if s.confirming_204:
        return Plan(max(CONFIRM_204_S, (s.allotted_s or 0.0) / 10), "confirm")
    to_end = seconds_to_end(s.song, s.now_ms)
    end_s = None if to_end is None else max(MIN_DELAY_S, to_end + END_OF_TRACK_SLACK_S)
    stuck = s.end_repolls > 0 and to_end is not None
    if stuck:
        end_s = allocator.stuck_delay(s.end_repolls)
    if end_s is not None and s.allotted_s is not None:
        end_s = allocator.end_delay(end_s, s.allotted_s)
    if s.watched:
        interval = (
            pacing.paced_interval(s.poll_s, s.used, s.budget)
            if s.allotted_s is None
            else max(s.poll_s, s.allotted_s)
        )
        idle = s.idle_since_ms is not None and s.now_ms - s.idle_since_ms >= IDLE_AFTER_MS
        if idle and not is_playing(s.song):
            # IDLE_POLL_INTERVAL stretches by the same factor as POLL_INTERVAL; under the
            # allocator, a screen watching nothing play takes at least 10 intervals (up to
            # 5 min), so an idle wall display does not eat the calls music needs.
            idle_s = max(interval, s.idle_poll_s * interval / s.poll_s)
            if s.allotted_s is not None:
                idle_s = max(idle_s, min(allocator.IDLE_WAKE_S, 10 * interval))
            return Plan(idle_s, "idle")
        if end_s is not None and end_s < interval:
            return Plan(end_s, "stuck" if stuck else "end")
        return Plan(interval, "watched")
    if stuck and end_s is not None:
        return Plan(end_s, "stuck")
    if is_playing(s.song):
        if end_s is not None and end_s <= UNWATCHED_PLAYING_S and s.views_coming:
            return Plan(end_s, "end")
        return Plan(UNWATCHED_PLAYING_S, "unwatched")
    return Plan(UNWATCHED_IDLE_S, "unwatched")


def watched_delay(
    *, now_ms: int, song: Song | None, idle_since_ms: int | None, poll_s: float, idle_poll_s: float
) -> float:
    """The watched schedule with no budget to pace: what the scrobblers (Last.fm,
    ListenBrainz: no daily quota) follow. Demand reaches them through the intervals they
    are given (`source_intervals`), so Spotify and they share one rule for the end of
    a track and for going idle."""
    situation = Situation(
        now_ms=now_ms,
        song=song,
        watched=True,
        used=0,
        budget=1,
        poll_s=poll_s,
        idle_poll_s=idle_poll_s,
        idle_since_ms=idle_since_ms,
    )
    return next_poll(situation).delay_s


def source_intervals(poll_s: float, idle_s: float, watched: bool) -> tuple[float, float]:
    """(while playing, once idle) seconds for a source without a quota: POLL_MODE's demand
    applies to them as to Spotify's own schedule."""
    if watched:
        return poll_s, idle_s
    return max(poll_s, FREE_UNWATCHED_PLAYING_S), max(idle_s, FREE_UNWATCHED_IDLE_S)


def hold_empty_answer(shown: Song | None, confirming: bool) -> bool:
    """A 204 right after a playing item may be a stray one: keep the item shown and
    confirm with one more poll. A second 204 in a row is believed."""
    return not confirming and is_playing(shown)
