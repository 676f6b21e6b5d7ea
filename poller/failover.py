"""Which source's answer becomes the document. Pure: the caller passes every status and the clock.

The rules: the preferred source while it answers; the next one when it cannot
(authorization or configuration error, a pause, unreachable past its stale window); back
to the preferred one as soon as it answers again; a source that reports something playing
now beats a preferred one that only knows a past item. While any source answers, the
document is neither stale nor paused.

What must stay true: a source that merely failed once keeps its place (and its last song)
until its own stale window has passed, so one timeout never flips the provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from poller.source import Kind
from shared.document import Song

BLOCKING: frozenset[Kind] = frozenset({"auth", "config", "paused"})


@dataclass(frozen=True)
class Status:
    """What the poller knows of one source after its latest read."""

    song: Song | None = None  # the last good answer
    ok_at_ms: int | None = None  # when it last answered
    fresh_until_ms: int = 0  # its last answer counts until then (its own stale window)
    error: Kind | None = None  # None: the latest read answered
    message: str | None = None
    retry_at_ms: int | None = None
    cause: str | None = None  # a setup cause (shared.setup_errors) the owner must fix


@dataclass(frozen=True)
class Choice:
    provider: str | None  # None: no source answers (keep the last song, stale)
    song: Song | None
    stale: bool
    paused_until: int | None
    states: dict[str, str] = field(default_factory=dict)


def answering(status: Status | None, now_ms: int) -> bool:
    """Whether a source counts as answering now (its last song may be used)."""
    if status is None or status.ok_at_ms is None or now_ms > status.fresh_until_ms:
        return False
    if status.error is None:
        return True
    if status.error in BLOCKING:
        return False
    # A short failure keeps the source; one it cannot recover from within the window does not.
    return status.retry_at_ms is None or status.retry_at_ms <= status.fresh_until_ms


def is_playing(song: Song | None) -> bool:
    return song is not None and song["isPlaying"] and song["source"] == "current"


def _rank(song: Song | None) -> int:
    """Playing now beats a known past item, which beats knowing nothing."""
    return 0 if is_playing(song) else 1 if song is not None else 2


def choose(order: Sequence[str], statuses: Mapping[str, Status], now_ms: int) -> Choice:
    """The source to publish from, and a one-word state of every source."""
    live = [name for name in order if answering(statuses.get(name), now_ms)]
    pick: str | None = None
    if live:
        pick = min(live, key=lambda n: (_rank(statuses[n].song), order.index(n)))
    states: dict[str, str] = {}
    for name in order:
        status = statuses.get(name)
        if name == pick:
            states[name] = "active"
        elif name in live:
            states[name] = "standby"
        elif status is None or (status.error is None and status.ok_at_ms is None):
            states[name] = "unknown"
        elif status.error is None:
            states[name] = "idle"
        else:
            states[name] = status.error
    if pick is not None:
        return Choice(pick, statuses[pick].song, False, None, states)
    pauses = [
        s.retry_at_ms
        for s in statuses.values()
        if s.error == "paused" and s.retry_at_ms is not None and s.retry_at_ms > now_ms
    ]
    # Several pauses: the document names the moment calls may really start again.
    return Choice(None, None, True, max(pauses) if pauses else None, states)


def should_read(name: str, order: Sequence[str], statuses: Mapping[str, Status], now: int) -> bool:
    """A less preferred source is asked only while no preferred one is playing: it could
    only win by playing, and a preferred playing source already wins that tie."""
    for preferred in order[: order.index(name)]:
        status = statuses.get(preferred)
        if answering(status, now) and status is not None and is_playing(status.song):
            return False
    return True
