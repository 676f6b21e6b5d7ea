"""Play sessions from the poller's own observations. Pure: observations and the clock in,
the open session and the ended ones out; no I/O (the publisher keeps the open session in
Redis, so a restart or a new leader carries on with it).

A session opens when an item is seen playing and closes when another item starts, the
item repeats, the player stops (nothing playing, or paused longer than IDLE_MS), or the
provider changes (the provider is part of the item's identity). `listenedMs` counts playing
time only; `skipped` is true when it ended more than SKIP_MARGIN_MS before its duration.
Times are ms since the epoch, as the document's `updatedAt`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TypedDict

from poller.changes import SEEK_THRESHOLD_MS
from shared.document import Song
from shared.history import Session

IDLE_MS = 600_000  # the poller's idle threshold: a longer pause or gap ends the session
SKIP_MARGIN_MS = 30_000
ART_TARGET_PX = 300


class OpenSession(TypedDict):
    """The session in progress, as kept in Redis between observations."""

    key: str
    session: Session  # endedAt: the last moment accounted for so far
    lastAt: int  # the last observation
    playing: bool
    position: int | None  # progressMs at lastAt
    pausedAt: int | None


@dataclass
class Step:
    open: OpenSession | None
    ended: list[Session] = field(default_factory=list)


def item_key(song: Song) -> str:
    """The item's identity: provider and type, then its id, else what is shown."""
    provider = song.get("provider", "spotify")
    what = song["id"] or "\x1f".join([song["name"], *song["artists"], song["album"]])
    return f"{provider}\x1e{song['type']}\x1e{what}"


def image_of(song: Song, target: int = ART_TARGET_PX) -> str | None:
    """The image closest to `target` px wide (the README card's size), else the largest."""
    sized = [i for i in song["images"] if i["width"]]
    if sized:
        return min(sized, key=lambda i: (abs((i["width"] or 0) - target), -(i["width"] or 0)))[
            "url"
        ]
    return song["albumImageUrl"]


def session_id(key: str, started_at: int) -> str:
    """Deterministic, so two pollers closing the same session write one record."""
    return hashlib.sha256(f"{key}\x1d{started_at}".encode()).hexdigest()[:20]


def at_observation(song: Song, now_ms: int) -> Song:
    """The song with its position at `now_ms`: `progressMs` is the position at
    `progressAt`, which a pushed item (and any source that reports a past moment) sets
    to when it arrived, not to this observation; extrapolated as a reader would, capped
    at the duration."""
    progress, since = song["progressMs"], song["progressAt"]
    if not song["isPlaying"] or progress is None or not since or since >= now_ms:
        return song
    position = progress + (now_ms - since)
    if song["durationMs"] is not None:
        position = min(position, song["durationMs"])
    return song | {"progressMs": position, "progressAt": now_ms}


def observe(state: OpenSession | None, song: Song | None, now_ms: int) -> Step:
    """One observation (the filtered song the publisher sees at `now_ms`)."""
    live = song if song is not None and song["source"] == "current" else None
    if live is not None:
        live = at_observation(live, now_ms)
    ended: list[Session] = []
    floor: int | None = None
    if state is not None:
        end_at = _end_of(state, live, now_ms)
        if end_at is None:
            return Step(_carry_on(state, live, now_ms))  # type: ignore[arg-type]
        ended.append(_close(state, end_at))
        floor = ended[-1]["endedAt"]
    if live is None or not live["isPlaying"]:
        return Step(None, ended)
    return Step(_open(live, now_ms, floor), ended)


def _credit(state: OpenSession, until_ms: int) -> int:
    """Playing time from the last observation to `until_ms`: none while paused, none past
    the item's end, none past a gap longer than IDLE_MS (the poller was away)."""
    if not state["playing"]:
        return 0
    elapsed = max(0, min(until_ms - state["lastAt"], IDLE_MS))
    duration, position = state["session"]["durationMs"], state["position"]
    if duration is not None and position is not None:
        elapsed = min(elapsed, max(0, duration - position))
    return elapsed


def _switch_at(state: OpenSession, live: Song, now_ms: int) -> int:
    """When the new item (or the repeat) started: now less its position, not before the
    last observation."""
    progress = live["progressMs"] if live["isPlaying"] else None
    if progress is None:
        return now_ms
    return max(state["lastAt"], min(now_ms, now_ms - progress))


def _end_of(state: OpenSession, live: Song | None, now_ms: int) -> int | None:
    """When the open session ended, or None while it goes on."""
    stopped = state["pausedAt"] if state["pausedAt"] is not None else state["lastAt"]
    if not state["playing"] and now_ms - stopped > IDLE_MS:
        return stopped
    if now_ms - state["lastAt"] > IDLE_MS:
        return state["lastAt"] + _credit(state, now_ms)
    if live is None:
        return state["lastAt"] + _credit(state, now_ms) if state["playing"] else stopped
    if item_key(live) != state["key"] or _repeats(state, live, now_ms):
        if live.get("provider", "spotify") != state["session"]["provider"]:
            # Another provider's position says when its item started on its own player,
            # not when this one stopped: this one played until the other was seen.
            return state["lastAt"] + _credit(state, now_ms)
        return _switch_at(state, live, now_ms)
    return None


def _repeats(state: OpenSession, live: Song, now_ms: int) -> bool:
    """The same item from its start again, after it had (nearly) played through."""
    duration, position, progress = state["session"]["durationMs"], state["position"], None
    if live["isPlaying"]:
        progress = live["progressMs"]
    if duration is None or position is None or progress is None:
        return False
    expected = min(duration, position + _credit(state, now_ms))
    return progress + SEEK_THRESHOLD_MS < expected and expected >= duration - SKIP_MARGIN_MS


def _carry_on(state: OpenSession, live: Song, now_ms: int) -> OpenSession:
    session = state["session"] | {}
    credit = _credit(state, now_ms)
    session["listenedMs"] += credit
    session["endedAt"] = now_ms if live["isPlaying"] else state["lastAt"] + credit
    paused_at = None if live["isPlaying"] else (state["pausedAt"] or session["endedAt"])
    position = live["progressMs"]
    if position is None and state["position"] is not None and live["isPlaying"]:
        position = state["position"] + credit
    return {
        "key": state["key"],
        "session": session,
        "lastAt": now_ms,
        "playing": live["isPlaying"],
        "position": position,
        "pausedAt": paused_at,
    }


def _close(state: OpenSession, end_at: int) -> Session:
    session: Session = state["session"] | {}
    credit = _credit(state, end_at)
    session["listenedMs"] += credit
    session["endedAt"] = max(session["startedAt"], end_at)
    duration, position = session["durationMs"], state["position"]
    reached = position + credit if position is not None else session["listenedMs"]
    session["skipped"] = duration is not None and reached < duration - SKIP_MARGIN_MS
    return session


def _open(live: Song, now_ms: int, floor: int | None) -> OpenSession:
    """A new session; it started `progressMs` ago (not before the previous one ended)."""
    started = now_ms - (live["progressMs"] or 0)
    if floor is not None:
        started = max(started, floor)
    started = min(started, now_ms)
    key = item_key(live)
    session: Session = {
        "id": session_id(key, started),
        "provider": live.get("provider", "spotify"),
        "type": live["type"],
        "name": live["name"],
        "artists": list(live["artists"]),
        "album": live["album"],
        "url": live.get("url") or live["spotifyUrl"],
        "imageUrl": image_of(live),
        "startedAt": started,
        "endedAt": now_ms,
        "listenedMs": now_ms - started,
        "durationMs": live["durationMs"],
        "skipped": False,
        "source": live["source"],
        "explicit": live.get("explicit"),
    }
    return {
        "key": key,
        "session": session,
        "lastAt": now_ms,
        "playing": True,
        "position": live["progressMs"],
        "pausedAt": None,
    }
