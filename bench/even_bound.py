"""What a week allows at best: the reference the week bench holds its results against.

An *even poller* spends the whole budget in the worst rolling 24 h of the week on the
seconds a stream is open while music plays, at one interval, knowing in advance when music
plays and where that worst window falls: nothing on views, idle screens, tokens or checks,
and a session's start costs it no idle polls. Such a poller sees a change after a uniformly
random share of its interval, and never sees one that ends sooner. Its p90 and its share
never shown are what no poller spending the same budget evenly can beat; where they miss a
target, the budget (not the allocator) is what misses it.

What must stay true: the reference depends on the week alone (its listening, its viewers,
the budget), never on the calls the poller under test made, so a poller that wastes calls
gets no easier reference; and it counts the same changes as the bench's stream measure
(unpredictable ones while a stream is open, outside an outage).
"""

from __future__ import annotations

import math
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
