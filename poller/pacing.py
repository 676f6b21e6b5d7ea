"""The pacing rule: how often a watched poller may poll, given the budget already used.

Pure. With u = calls in the rolling 24 h / SPOTIFY_DAILY_BUDGET and P = POLL_INTERVAL:

    u <= 0.1        interval = P
    0.1 < u < 1     interval = P * 0.9 / (1 - u)      (continuous at u = 0.1)
    u >= 1          no call: paused until a tenth of the budget is free (see budget.py)

So 5 s becomes 9 s at half the budget, 22.5 s at 80 %, 45 s at 90 %, 7.5 min at 99 %:
the interval grows as the budget runs down, and never stops while a call is left. The
rolling window frees calls as fast as they were spent a day before, so under steady
watching u settles where the spending rate equals the freeing rate.
"""

from __future__ import annotations

PACING_FROM = 0.10
MAX_INTERVAL_S = 900.0


def usage(used: int, budget: int) -> float:
    return used / budget if budget > 0 else 1.0


def is_pacing(used: int, budget: int) -> bool:
    """True once the rule stretches the interval beyond POLL_INTERVAL."""
    return usage(used, budget) > PACING_FROM


def paced_interval(poll_s: float, used: int, budget: int) -> float:
    """Seconds between polls while watched; grows as the budget runs down."""
    u = usage(used, budget)
    if u <= PACING_FROM:
        return poll_s
    if u >= 1.0:
        return MAX_INTERVAL_S
    return min(MAX_INTERVAL_S, max(poll_s, poll_s * (1 - PACING_FROM) / (1 - u)))
