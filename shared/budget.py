"""The rolling-24-hour call budget: may a call be made now, and if not, until when not.

Pure: the caller passes the timestamps of the calls already made (from Redis) and the
clock. What must stay true: a call is allowed only while fewer than `budget` calls lie
in the last 24 h, so the count can never pass the budget; and once it is spent, the pause
lasts until the window has freed a tenth of it, so the poller does not flap between one
call and one refusal at the edge of the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW_MS = 86_400_000
RESUME_FRACTION = 0.10


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
    """When enough old calls have left the window that a tenth of the budget is free."""
    calls = in_window(calls_ms, now_ms)
    keep = budget - max(1, math.ceil(budget * RESUME_FRACTION))
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
