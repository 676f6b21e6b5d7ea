"""The one allocator of Spotify calls: how far apart the calls that freshness asks for
may be, so that the rolling 24 h never runs out. Pure: the caller passes the calls of the
window, the effective budget, the hour-of-day demand profile and the clock.

Every call is one of two kinds:

- *demand* calls: a watched poll, a view's or a new stream's wake-up. They buy freshness
  for someone looking while music plays, and are spread evenly over the seconds of demand
  expected (`Profile.demand_s`, learnt per hour of the day from what the poller saw);
- *fixed* calls: the predicted end of an item, a 204 check, the hourly idle poll, a token
  refresh, recently-played, a retry. They are few and counted apart (`Profile.fixed`).

`interval_s` is the seconds of demand per demand call: for each checkpoint t of the next
24 h, the calls available by t (left now, plus those the window frees by t, minus the fixed
calls expected and a safety margin) must cover the demand expected by t; the interval is
the largest that any checkpoint asks for. Steady state gives demand / (budget - fixed);
spending faster than the profile foresaw leaves fewer calls and longer intervals at once,
so freshness degrades smoothly long before the budget is gone, and the budget's own pause
(shared/budget.py) is a backstop that a poller following this never reaches.

The rest are the back-offs of the fixed calls: an item reported playing at or past its
end is re-polled after 1, 3, 9 ... s (a stuck player costs a handful of calls an hour);
an outage is retried at most every `OUTAGE_MAX_S`; and after a QUOTA_EXCEEDED the calls
of the window become the quota (shared/budget.py `learnt_quota`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shared.budget import WINDOW_MS
from shared.budget import effective_budget as effective_budget
from shared.budget import learnt_quota as learnt_quota

HOUR_MS = 3_600_000
HOURS = 24
MAX_INTERVAL_S = 900.0
# A demand call is never closer than this to the one before (a burst of wake-ups is one call).
MIN_DEMAND_S = 1.0
# The profile before anything was seen: about 5 h of demand a day, a few fixed calls an hour
# (past its free tenth, a fresh poller polls every 25 s or so while watched, the old
# comfortable pace, until the profile knows better).
PRIOR_DEMAND_S = 800.0
PRIOR_FIXED = 4.0
# While fewer calls than this share of the budget lie in the window, POLL_INTERVAL.
FREE_FRACTION = 0.10
# Predicted ends are polled at once while the interval is shorter than this.
END_FREE_S = 90.0
# How far each hour of the profile leans from the mean of the days towards the busiest.
CAUTION = 0.3
# The hours of a day each lean towards their busiest, but a day holds no more than the
# busiest whole day seen (days with this many hours recorded), times DAY_CAP.
WHOLE_DAY_HOURS = 20
DAY_CAP = 1.0
# Demand going on now is expected to go on this long (a session, an overlay).
PERSIST_S = 3600.0
# Calls kept back from the allocation: the allocator never plans to the last call, and
# plans the day with a reserve for the hours busier than the profile.
MARGIN_FRACTION = 0.03
MARGIN_MIN = 5
RESERVE_FRACTION = 0.05
RESERVE_S = 6 * 3600.0
# Interest a one-shot view stands for: a reader may look again within this long.
VIEW_INTEREST_S = 60.0
# An unwatched track end costs a call only while views come about once a minute, the last
# of them within LOOKED_AT_S.
END_VIEWS_PER_HOUR = 60
LOOKED_AT_S = 300.0
# Wake-ups after ten idle minutes: at most one call per this long (the web's own window),
# and while views keep coming (one within the window before), per the longer one.
IDLE_WAKE_S = 300.0
IDLE_BUSY_WAKE_S = 720.0
# An item reported at or past its end: re-polls after 1, 3, 9, ... s, at most this far apart.
STUCK_FIRST_S = 1.0
STUCK_FACTOR = 3.0
STUCK_MAX_S = 1800.0
# An outage: the first retries follow the usual back-off; then at most one every 5 min.
OUTAGE_FREE_RETRIES = 8
OUTAGE_MAX_S = 300.0


@dataclass(frozen=True)
class Profile:
    """Per hour of the day (UTC, 0-23): seconds of demand and fixed calls expected."""

    demand_s: tuple[float, ...] = (PRIOR_DEMAND_S,) * HOURS
    fixed: tuple[float, ...] = (PRIOR_FIXED,) * HOURS
    # The busiest whole day seen (None before one was): what any 24 h may hold at most.
    day_demand_s: float | None = None
    day_fixed: float | None = None


def profile_from(days: Sequence[tuple[int, float, float]]) -> Profile:
    """The profile from observed hours `(hour index since the epoch, demand s, fixed
    calls)`: each hour of the day is the mean of the days that saw it, raised 30 % of the
    way to their busiest (sessions move from day to day: a calm hour yesterday may be today's
    busiest, and the calls spent then are not free again before tomorrow); an hour never
    seen keeps the prior. Raised hours sum to more than any day held (a 2-h session that
    moves raises every hour it ever took), so a day's total is capped at the busiest whole
    day seen: planning for the sum left calls unspent that then went out in bursts."""
    demand: list[list[float]] = [[] for _ in range(HOURS)]
    fixed: list[list[float]] = [[] for _ in range(HOURS)]
    per_day: dict[int, list[float]] = {}
    for index, d, f in days:
        d, f = max(0.0, min(3600.0, d)), max(0.0, f)
        demand[index % HOURS].append(d)
        fixed[index % HOURS].append(f)
        day = per_day.setdefault(index // HOURS, [0.0, 0.0, 0.0])
        day[0], day[1], day[2] = day[0] + d, day[1] + f, day[2] + 1
    whole = [day for day in per_day.values() if day[2] >= WHOLE_DAY_HOURS]
    return Profile(
        tuple(_cautious(v) if v else PRIOR_DEMAND_S for v in demand),
        tuple(_cautious(v) if v else PRIOR_FIXED for v in fixed),
        max((day[0] for day in whole), default=None),
        max((day[1] for day in whole), default=None),
    )


def _cautious(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return mean + CAUTION * (max(values) - mean)


def _expected(
    values: tuple[float, ...], now_ms: int, until_ms: int, floor_until_ms: int = 0
) -> float:
    """The profile's total from `now_ms` to `until_ms`, pro rata within hours; before
    `floor_until_ms`, a full hour's worth an hour (demand going on now goes on)."""
    total, t = 0.0, now_ms
    while t < until_ms:
        edges = [(t // HOUR_MS + 1) * HOUR_MS, until_ms]
        if t < floor_until_ms:
            edges.append(floor_until_ms)
        step = min(edges) - t
        per_hour = values[(t // HOUR_MS) % HOURS]
        if t < floor_until_ms:
            per_hour = max(per_hour, 3600.0)
        total += per_hour * step / HOUR_MS
        t += step
    return total


def _capped(expected: float, day: float | None) -> float:
    return expected if day is None else min(expected, day * DAY_CAP)


def margin(budget: int, ahead_ms: int = 0) -> float:
    """Calls kept back at a checkpoint `ahead_ms` away: a few always, and a reserve that
    grows to RESERVE_FRACTION of the budget over RESERVE_S, so the plan for the day keeps
    it while an hour busier than the profile foresaw may draw on it."""
    least = max(MARGIN_MIN, math.ceil(budget * MARGIN_FRACTION))
    reserve = budget * RESERVE_FRACTION
    return least + max(0.0, reserve - least) * min(1.0, ahead_ms / (RESERVE_S * 1000))


def interval_s(
    calls_ms: Sequence[int],
    budget: int,
    now_ms: int,
    profile: Profile,
    poll_s: float,
    *,
    demand_now: bool = False,
) -> float:
    """Seconds of demand per demand call now (at least `poll_s`, at most 15 min).
    `demand_now`: someone looks while music plays; the next PERSIST_S are expected to be
    all demand, whatever the profile says (today may be busier than the last days)."""
    floor_until = now_ms + int(PERSIST_S * 1000) if demand_now else 0
    calls = sorted(t for t in calls_ms if t > now_ms - WINDOW_MS)
    if len(calls) < budget * FREE_FRACTION:
        return poll_s  # a tenth of the budget is spent freely (a few minutes at most)
    left = budget - len(calls)
    worst = poll_s
    checkpoints = [now_ms + m * 60_000 for m in (10, 30)]
    checkpoints += [now_ms + h * HOUR_MS for h in range(1, HOURS + 1)]
    for at in checkpoints:
        freed = bisect.bisect_right(calls, at - WINDOW_MS)
        fixed = _capped(_expected(profile.fixed, now_ms, at), profile.day_fixed)
        loose = left + freed - fixed - margin(budget)
        # The reserve is drawn on at a quarter of the pace, never all at once.
        available = max(loose - margin(budget, at - now_ms) + margin(budget), loose / 4)
        demand = _expected(profile.demand_s, now_ms, at, floor_until)
        if profile.day_demand_s is not None:
            floor = _expected((0.0,) * HOURS, now_ms, at, floor_until)
            demand = min(demand, max(floor, profile.day_demand_s * DAY_CAP))
        if demand <= 0:
            continue
        if loose <= 0:
            return MAX_INTERVAL_S
        worst = max(worst, demand / available)
    return min(MAX_INTERVAL_S, worst)


def end_delay(end_s: float, interval: float) -> float:
    """The poll at a predicted end, rationed when calls are short: once the interval
    passes END_FREE_S, a predicted end waits for the interval less END_FREE_S too (an
    exhausted budget spaces every call, not only the watched ones)."""
    return max(end_s, interval - END_FREE_S)


def demand_call_at(
    last_call_ms: int | None, now_ms: int, interval: float, *, idle: bool, busy: bool = False
) -> int:
    """When a wake-up (a view, a new stream) may cost a call: at once when the last call
    is at least one interval old, else when it will be. After ten idle minutes, one call
    per IDLE_WAKE_S at most (IDLE_BUSY_WAKE_S while views keep coming, `busy`: 5 an
    hour), or the interval when longer."""
    if last_call_ms is None:
        return now_ms
    idle_gap = IDLE_BUSY_WAKE_S if busy else IDLE_WAKE_S
    gap = max(interval, idle_gap) if idle else max(MIN_DEMAND_S, interval)
    return max(now_ms, last_call_ms + int(gap * 1000))


def end_for_views(views_last_hour: int, since_last_view_s: float | None) -> bool:
    """Whether the predicted end of an item nobody streams is worth a call: only while
    one-shot views come about once a minute, so that one likely lands within the web's
    freshness window after it and is right at once. Rarer views ask for a poll of their
    own anyway, and an end polled for them is a call spent on nobody (140 a day on the
    heavy week, bench/weeks.py)."""
    recent = since_last_view_s is not None and since_last_view_s < LOOKED_AT_S
    return recent and views_last_hour >= END_VIEWS_PER_HOUR


def stuck_delay(repolls: int) -> float:
    """Seconds to the next poll of an item reported at or past its end `repolls` times
    in a row (1, 3, 9, 27 ... s): a player that lags a second costs one more call, one
    stuck for hours a few an hour."""
    return min(STUCK_MAX_S, STUCK_FIRST_S * STUCK_FACTOR ** max(0, repolls - 1))


def outage_delay(failures: int) -> float:
    """The least wait before retrying after `failures` failed reads in a row: nothing
    extra for the first few (the usual back-off), then doubling up to OUTAGE_MAX_S, so an
    outage costs at most 3600 / OUTAGE_MAX_S retries an hour (each maybe with a refresh)."""
    if failures <= OUTAGE_FREE_RETRIES:
        return 0.0
    return min(OUTAGE_MAX_S, 60.0 * 2.0 ** (failures - OUTAGE_FREE_RETRIES - 1))


def paused_until(quota_until_ms: int | None, budget_until_ms: int | None) -> int | None:
    """The moment calls may really start again: the later of the two pauses."""
    held = [t for t in (quota_until_ms, budget_until_ms) if t is not None]
    return max(held) if held else None
