"""The poll rules both schedules share: what playing means, back-off, when data turns
stale. Pure: the caller owns the clock. The schedule itself is poller/plan.py."""

from __future__ import annotations

import random

from shared.document import Song
from shared.heartbeat import stale_window_s

IDLE_AFTER_MS = 10 * 60 * 1000
END_OF_TRACK_SLACK_S = 0.4
MAX_BACKOFF_S = 60.0
AUTH_RETRY_S = 300.0
MOVED_MS = 2000  # a paused item this much further on than the last read played meanwhile


def is_playing(song: Song | None) -> bool:
    return song is not None and song["source"] == "current" and song["isPlaying"]


def played_between(before: Song | None, after: Song | None) -> bool:
    """Whether music played between two reads of the player (`before`: the last read
    that found an item on it) when `after` finds one paused: another item, or the same
    one more than a few seconds further on. The reads alone would take that for one long
    idle spell. A read with nothing on the player (a 204, the recently-played fallback)
    says nothing either way: an item going inactive and coming back is no playing."""
    if before is None or after is None or is_playing(after):
        return False
    if before["source"] != "current" or after["source"] != "current":
        return False
    if before["id"] is None or after["id"] is None:
        return False
    if before["id"] != after["id"]:
        return True
    if before["progressMs"] is None or after["progressMs"] is None:
        return False
    return abs(after["progressMs"] - before["progressMs"]) > MOVED_MS


def backoff_delay(failures: int, poll_s: float, rng: random.Random) -> float:
    """Exponential from the poll interval, capped at 60 s, with equal jitter so that
    several instances that failed together do not retry in step."""
    ceiling = min(MAX_BACKOFF_S, poll_s * 2.0 ** max(0, failures - 1))
    jittered: float = ceiling / 2 + rng.random() * ceiling / 2
    return max(poll_s / 2, jittered)


def stale_window_ms(interval_s: float) -> int:
    """No successful poll for 3 intervals (at least 15 s): the data is no longer trusted."""
    return int(stale_window_s(interval_s) * 1000)
