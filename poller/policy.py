"""When to poll next, and when data stops being trustworthy. Pure: the caller owns the clock."""

from __future__ import annotations

import random

from shared.changes import expected_progress
from shared.document import Song
from shared.heartbeat import stale_window_s

IDLE_AFTER_MS = 10 * 60 * 1000
END_OF_TRACK_SLACK_S = 0.4
MAX_BACKOFF_S = 60.0
AUTH_RETRY_S = 300.0


def is_playing(song: Song | None) -> bool:
    return song is not None and song["source"] == "current" and song["isPlaying"]


def next_poll_delay(
    *, now_ms: int, song: Song | None, idle_since_ms: int | None, poll_s: float, idle_poll_s: float
) -> float:
    """Fast while playing (with one extra poll just after the predicted end of the item),
    slow after ten minutes with nothing playing, fast again as soon as something plays."""
    if song is not None and is_playing(song) and song["durationMs"] is not None:
        position = expected_progress(song, now_ms)
        if position is not None:
            remaining_s = (song["durationMs"] - position) / 1000
            if remaining_s + END_OF_TRACK_SLACK_S < poll_s:
                return max(0.2, remaining_s + END_OF_TRACK_SLACK_S)
        return poll_s
    if idle_since_ms is not None and now_ms - idle_since_ms >= IDLE_AFTER_MS:
        return idle_poll_s
    return poll_s


def backoff_delay(failures: int, poll_s: float, rng: random.Random) -> float:
    """Exponential from the poll interval, capped at 60 s, with equal jitter so that
    several instances that failed together do not retry in step."""
    ceiling = min(MAX_BACKOFF_S, poll_s * 2.0 ** max(0, failures - 1))
    jittered: float = ceiling / 2 + rng.random() * ceiling / 2
    return max(poll_s / 2, jittered)


def stale_window_ms(interval_s: float) -> int:
    """No successful poll for 3 intervals (at least 15 s): the data is no longer trusted."""
    return int(stale_window_s(interval_s) * 1000)
