"""The pacing rule: how often a watched poller may poll, given the budget already used.

Pure. With u = calls in the rolling 24 h / SPOTIFY_DAILY_BUDGET, P = POLL_INTERVAL and
C = max(P, 25 s):

    u <= 0.1         interval = P
    0.1 < u <= 0.6   interval = P + (C - P) * (u - 0.1) / 0.5    (P to C, linear)
    0.6 < u < 1      interval = C * sqrt(0.4 / (1 - u))          (capped at 15 min)
    u >= 1           no call: paused until a tenth of the budget is free (shared/budget.py)

With the defaults: 5 s up to 100 calls, 13 s at 300, 25 s at 600, 35 s at 800, 50 s at
900, 2.6 min at 990, 8.3 min at 999. The interval grows as the budget runs down and never
stops while a call is left. The rolling window frees calls as fast as they were spent a
day before, so under steady watching u settles where spending equals freeing: for a few
hours of watching a day (bench/quota_week.py) around 0.6 to 0.9, polling every 25 to
50 s, which keeps unpredictable changes (skips, pauses) within about 30 s for 90 % of
them. C is 25 s rather than the 30 s freshness window so that the p90 holds.
"""

from __future__ import annotations

import math

PACING_FROM = 0.10
COMFORT_AT = 0.60
COMFORT_S = 25.0
MAX_INTERVAL_S = 900.0


def usage(used: int, budget: int) -> float:
    return used / budget if budget > 0 else 1.0


def is_pacing(used: int, budget: int) -> bool:
    """True once the rule stretches the interval beyond POLL_INTERVAL."""
    return usage(used, budget) > PACING_FROM


def paced_interval(poll_s: float, used: int, budget: int) -> float:
    """Seconds between polls while watched; grows as the budget runs down."""
    u = usage(used, budget)
    comfort = max(poll_s, COMFORT_S)
    if u <= PACING_FROM:
        return poll_s
    if u <= COMFORT_AT:
        return poll_s + (comfort - poll_s) * (u - PACING_FROM) / (COMFORT_AT - PACING_FROM)
    if u >= 1.0:
        return MAX_INTERVAL_S
    return min(MAX_INTERVAL_S, comfort * math.sqrt((1 - COMFORT_AT) / (1 - u)))
