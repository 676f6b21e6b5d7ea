"""What a week allows at best: the reference the week bench holds its results against.

An *even poller* spends the whole budget in the worst rolling 24 h of the week on the
seconds a stream is open while music plays, at one interval, knowing in advance when music
plays and where that worst window falls: nothing on views, idle screens, tokens or checks,
and a session's start costs it no idle polls. Such a poller sees a change after a uniformly
random share of its interval, and never sees one that ends sooner. Its p90 and its share
never shown are what no poller spending the same budget evenly can beat; where they miss a
target, the budget (not the allocator) is what misses it.

It spends nothing on views, though the views-right target needs calls. Beside it, the even
poller *paying for views and tokens* (`bound_paying_views`): the same poller, clairvoyant
still, that first spends what the other targets cannot do without, in each 24 h: one call
per item state a one-shot view lands in while music plays with no stream open (a single
call at the first such view makes every view of that state right), less the states it may
leave wrong (the week's 10 % of views, all assumed to fall in that 24 h, the smallest
states first), and an access token an hour it calls at all (a token lasts an hour). What is
left goes to watched music. A target that even this poller misses is beyond the budget once
the views-right target is met too.

What must stay true: the reference depends on the week alone (its listening, its viewers,
the budget), never on the calls the poller under test made, so a poller that wastes calls
gets no easier reference; and it counts the same changes as the bench's stream measure
(unpredictable ones while a stream is open, outside an outage).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.procs import percentile

STEP_S = 60.0  # resolution of the worst-window search
DAY_S = 86_400.0
PHASES = 20  # moments of the interval at which each change is placed


@dataclass(frozen=True)
class Bound:
    interval_s: float  # the even poller's interval over watched music
    watched_h: float  # hours of watched music in the worst 24 h
    p90_s: float
    never_shown: float  # share


def worst_window(start: float, end: float, demand: Callable[[float], bool]) -> tuple[float, float]:
    """(start of the 24 h with the most seconds where `demand` holds, those seconds)."""
    marks = [demand(start + i * STEP_S) for i in range(int((end - start) / STEP_S))]
    span = int(DAY_S / STEP_S)
    if len(marks) <= span:
        return start, sum(marks) * STEP_S
    total = sum(marks[:span])
    best, best_at = total, 0
    for i in range(span, len(marks)):
        total += marks[i] - marks[i - span]
        if total > best:
            best, best_at = total, i - span + 1
    return start + best_at * STEP_S, best * STEP_S


def even_interval(watched_s: float, budget: int, least_s: float) -> float:
    """Seconds between polls that spend `budget` over `watched_s`."""
    if budget <= 0:
        return math.inf
    return max(least_s, watched_s / budget)


def outcome(lifetimes: Sequence[float], interval_s: float) -> tuple[float, float]:
    """(p90 delay, share never shown) of changes living `lifetimes` seconds each, polled
    every `interval_s` at a uniformly random phase."""
    if not lifetimes:
        return 0.0, 0.0
    delays = []
    for life in lifetimes:
        for k in range(PHASES):
            wait = (k + 0.5) / PHASES * interval_s
            delays.append(wait if wait <= life else math.inf)
    missed = sum(1 for d in delays if d == math.inf) / len(delays)
    return percentile(delays, 90), missed


def token_hours(times: Sequence[float]) -> int:
    """The fewest hour-long tokens that cover calls at `times` (a token lasts 3600 s from
    its first use): the greedy cover from the earliest call is the least one."""
    count, until = 0, -math.inf
    for t in sorted(times):
        if t >= until:
            count, until = count + 1, t + 3600.0
    return count


def view_calls(states: Sequence[int], may_miss: int) -> int:
    """The fewest calls that make the views at these item states right (one entry per
    view: the index of the state it lands in), when `may_miss` views may be wrong: one call
    per state, less the states whose views may all be wrong, the smallest first."""
    sizes = sorted(Counter(states).values())
    spared = 0
    for size in sizes:
        if size > may_miss:
            break
        may_miss -= size
        spared += 1
    return len(sizes) - spared


def bound_paying_views(
    *,
    start: float,
    end: float,
    watched_music: Callable[[float], bool],
    views: Sequence[tuple[float, int]],
    lifetimes: Sequence[float],
    budget: int,
    least_s: float,
    right_share: float = 0.9,
) -> Bound:
    """The even poller that pays for views and tokens first: `views` are the one-shot
    views while music plays and no stream is open, each as (time, index of the item state
    it lands in). The interval is the longest any 24 h from a whole hour asks for (a
    subset of the windows, so the bound stays one that no poller beats)."""
    marks = [start + i * STEP_S for i in range(int((end - start) / STEP_S))]
    watched = [t for t in marks if watched_music(t)]
    views = sorted(views)
    view_times = [t for t, _ in views]
    may_miss = math.floor((1.0 - right_share) * len(views) + 1e-9)  # 0.1 * 200 is 19.99...
    worst, worst_s = 0.0, 0.0
    t0 = start
    while t0 < end:
        t1 = t0 + DAY_S
        seen = watched[bisect.bisect_left(watched, t0) : bisect.bisect_left(watched, t1)]
        looked = views[bisect.bisect_left(view_times, t0) : bisect.bisect_left(view_times, t1)]
        spent = view_calls([s for _, s in looked], may_miss)
        spent += token_hours(seen + [t for t, _ in looked])
        watched_s = len(seen) * STEP_S
        interval = even_interval(watched_s, budget - spent, least_s) if watched_s else 0.0
        if interval > worst:
            worst, worst_s = interval, watched_s
        t0 += 3600.0
    p90, missed = outcome(lifetimes, worst)
    return Bound(worst, worst_s / 3600, p90, missed)


def bound(
    *,
    start: float,
    end: float,
    watched_music: Callable[[float], bool],
    lifetimes: Sequence[float],
    budget: int,
    least_s: float,
) -> Bound:
    _, watched_s = worst_window(start, end, watched_music)
    interval = even_interval(watched_s, budget, least_s)
    p90, missed = outcome(lifetimes, interval)
    return Bound(interval, watched_s / 3600, p90, missed)
