"""Whether a poll result is worth a new version. Pure: the caller passes the clock.

Publishing only real changes keeps every viewer's stream quiet while a track simply plays
on: clients extrapolate progress themselves from `progressMs` and `progressAt`.
"""

from __future__ import annotations

from shared.document import Document, Song

SEEK_THRESHOLD_MS = 3000


def expected_progress(song: Song, at_ms: int) -> int | None:
    """Where a published song should be at `at_ms`, extrapolating while it plays."""
    if song["progressMs"] is None or song["progressAt"] is None:
        return None
    position = song["progressMs"]
    if song["isPlaying"]:
        position += max(0, at_ms - song["progressAt"])
    if song["durationMs"] is not None:
        position = min(position, song["durationMs"])
    return position


def same_item(a: Song, b: Song) -> bool:
    """Identity of the thing played; local files have no id, so compare what is shown."""
    if a["type"] != b["type"] or a["source"] != b["source"]:
        return False
    if a.get("provider", "spotify") != b.get("provider", "spotify"):
        return False
    if a["id"] is not None or b["id"] is not None:
        same = a["id"] == b["id"]
    else:
        same = (a["name"], a["artists"], a["album"]) == (b["name"], b["artists"], b["album"])
    return same and a["playedAt"] == b["playedAt"]


def is_seek(previous: Song, new: Song) -> bool:
    """A position off the extrapolated one by more than the threshold."""
    if new["progressMs"] is None or new["progressAt"] is None:
        return previous["progressMs"] is not None
    expected = expected_progress(previous, new["progressAt"])
    if expected is None:
        return True
    return abs(new["progressMs"] - expected) > SEEK_THRESHOLD_MS


def song_changed(previous: Song | None, new: Song | None) -> bool:
    if previous is None or new is None:
        return previous is not new
    if not same_item(previous, new) or previous["isPlaying"] != new["isPlaying"]:
        return True
    if new["source"] == "current":
        return is_seek(previous, new)
    return False


def should_publish(
    previous: Document | None,
    song: Song | None,
    *,
    stale: bool,
    demo: bool,
    paused_until: int | None = None,
) -> bool:
    """The contract's definition of a change, against the last published document."""
    if previous is None:
        return True
    if previous["stale"] != stale or previous["demo"] != demo:
        return True
    if previous.get("pausedUntil") != paused_until:
        return True
    return song_changed(previous["song"], song)
