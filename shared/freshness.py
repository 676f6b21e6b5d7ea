"""How old the last poll may be before a one-shot read asks for a new one. Pure.

Shared by the web side (should this view ask for a poll?) and the poller (is this wake
request still needed?), so both agree on one window.
"""

from __future__ import annotations

from shared.document import Song

PLAYING_WINDOW_S = 30.0
IDLE_WINDOW_S = 300.0


def freshness_window_s(song: Song | None) -> float:
    """About 30 s while something plays (a skip is likely), 5 minutes otherwise."""
    playing = song is not None and song["source"] == "current" and song["isPlaying"]
    return PLAYING_WINDOW_S if playing else IDLE_WINDOW_S


def needs_poll(song: Song | None, last_poll_ms: int | None, now_ms: int) -> bool:
    """True when the last poll is older than the freshness window (or never happened)."""
    if last_poll_ms is None:
        return True
    return now_ms - last_poll_ms > freshness_window_s(song) * 1000
