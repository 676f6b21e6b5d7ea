"""The rolling-24-hour call budget: may a call be made now, and if not, until when not.

Pure: the caller passes the timestamps of the calls already made (from Redis) and the
clock. What must stay true: a call is allowed only while fewer than `budget` calls lie
in the last 24 h, so the count can never pass the budget; and once it is spent, the pause
lasts until the window frees a call. No cliff: the allocator (poller/allocator.py) spaces
the calls so that a poller following it never gets here, and when it does (a budget
lowered under the calls already made, a learnt quota) calls resume one by one as the
window frees them, spread by the allocator, not in a burst a day later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WINDOW_MS = 86_400_000
RESUME_CALLS = 1
# After QUOTA_EXCEEDED, the budget is this share of the calls Spotify took in the window.
LEARNT_SHARE = 0.95


@dataclass(frozen=True)
class Decision:
    allowed: bool
    used: int  # calls in the window before this one
    paused_until_ms: int | None  # set when refused


def in_window(calls_ms: Sequence[int], now_ms: int) -> list[int]:
    """The calls of the last 24 h, oldest first. A call stamped after `now_ms` counts
    too: another poller's clock may run a little ahead of this one's."""
    return sorted(t for t in calls_ms if t > now_ms - WINDOW_MS)


def resume_at(calls_ms: Sequence[int], budget: int, now_ms: int) -> int:
    """When enough old calls have left the window that a call is free."""
    calls = in_window(calls_ms, now_ms)
    keep = budget - RESUME_CALLS
    to_free = len(calls) - keep
    if to_free <= 0:
        return now_ms
    return calls[to_free - 1] + WINDOW_MS


def decide(calls_ms: Sequence[int], budget: int, now_ms: int) -> Decision:
    """Whether one more call fits in the budget now."""
    used = len(in_window(calls_ms, now_ms))
    if used < budget:
        return Decision(True, used, None)
    return Decision(False, used, resume_at(calls_ms, budget, now_ms))


def learnt_quota(calls_in_window: int) -> int:
    """After QUOTA_EXCEEDED: the calls made in the window (the refused one not counted)
    are the real quota."""
    return max(10, calls_in_window - 1)


def effective_budget(configured: int, learnt: int | None) -> int:
    """The budget the poller spends: SPOTIFY_DAILY_BUDGET, or a share of a learnt quota
    when that is lower (a budget set above the real quota costs one lockout at most)."""
    if learnt is None:
        return configured
    return min(configured, max(10, int(learnt * LEARNT_SHARE)))
