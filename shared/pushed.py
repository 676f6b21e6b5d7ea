"""The pushed item: what the ingest routes were told, as stored in `P:push:current`.

The one module that owns this wire format. The web side (web/ingest/) validates a
submission, folds it into the stored record with one of the pure transitions below and
writes it with `update_pushed`, which PUBLISHes `push` on the wake channel in the same
transaction; the poller's push source (poller/providers/push/) reads it back with
`read_pushed` and turns it into the song of the moment with `song_at`. The poller's
publisher stays the one writer of `P:current`.

The record keeps two things apart: the item that plays (or is paused) now, as pushed, with
the moment it arrived and the moment it expires (its remaining duration after arrival, or
10 minutes without a duration: a player that vanishes leaves nothing playing for ever), and
the latest play that ended (`single`/`import` listens, Web Scrobbler's `scrobble`), shown as
`source: "recent"` when nothing plays.

Pure apart from `read_pushed` and `update_pushed`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import WatchError

from shared.document import MAX_MS, Image, Song, SongType, is_song
from shared.store import Store
from shared.text import clean_text
from shared.wake import Wake

WAKE_REASON = Wake.PUSH  # the message on `Keys.wake` after every accepted submission
DEFAULT_PLAY_MS = 10 * 60 * 1000  # how long an item without a duration counts as playing
PAUSED_MS = 10 * 60 * 1000  # how long a paused item stays on the card
# Limits of what a submission may carry. The document itself has none, so these are the
# ingest's: a name longer than NAME_LIMIT is cut (as a normalizer would), not refused.
NAME_LIMIT = 512
ARTISTS_LIMIT = 16
URL_LIMIT = 2048
LATE_SCROBBLE_SLACK_MS = 1000  # listened_at is in whole seconds


# C0 and C1 controls, and the bidirectional formatting characters (marks, embeddings,
# overrides, isolates: U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), which would
# reorder the rest of a pushed name on the card, the SVGs and the PNG.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def cut(value: str, limit: int = NAME_LIMIT) -> str:
    """One line of text fit for every renderer: control and bidi characters stripped, the rest
    cleaned as every normalizer cleans (shared/text.py), trimmed, at most `limit`
    characters."""
    return clean_text(_CONTROLS.sub("", value)).strip()[:limit].strip()


def iso(ms: int) -> str:
    """An epoch in ms as ISO 8601, the shape of Spotify's `played_at`."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def make_song(
    *,
    name: str,
    artists: list[str],
    album: str = "",
    type: SongType = "track",
    duration_ms: int | None = None,
    images: list[Image] | None = None,
    url: str | None = None,
    spotify_url: str | None = None,
    id: str | None = None,
) -> Song:
    """A pushed item as the document's song (playing, position unknown: `song_at` fills
    in the state and the position from the record)."""
    shown = images or []
    return {
        "isPlaying": True,
        "source": "current",
        "type": type,
        "id": id,
        "name": name,
        "artists": artists,
        "album": album,
        "albumImageUrl": shown[0]["url"] if shown else None,
        "images": shown,
        "spotifyUrl": spotify_url,
        "previewUrl": None,
        "durationMs": duration_ms,
        "progressMs": None,
        "progressAt": None,
        "playedAt": None,
        "explicit": None,
        "provider": "push",
        "url": url or spotify_url,
    }


@dataclass(frozen=True)
class Pushed:
    item: Song | None = None  # the pushed playing (or paused) item
    received_at: int = 0  # ms epoch: when `item` (or its last pause/resume) arrived
    expires_at: int = 0  # ms epoch: `item` plays no more from then on
    playing: bool = False  # False: paused
    position_ms: int | None = None  # the position at `received_at`
    ended: Song | None = None  # the latest play that ended, `source: "recent"`
    ended_at: int | None = None  # its `listened_at`, ms epoch (which of two is newer)


def encode_pushed(record: Pushed) -> bytes:
    return json.dumps(asdict(record), ensure_ascii=False, separators=(",", ":")).encode()


def _ms_or_none(value: object) -> bool:
    return value is None or (
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_MS
    )


def decode_pushed(raw: bytes | str | None) -> Pushed | None:
    """The stored record, or None when there is none or it is not one (never raises)."""
    if not raw:
        return None
    try:
        value: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    item, ended = value.get("item"), value.get("ended")
    ok = (
        (item is None or is_song(item))
        and (ended is None or is_song(ended))
        and all(
            _ms_or_none(value.get(k))
            for k in ("received_at", "expires_at", "position_ms", "ended_at")
        )
        and isinstance(value.get("playing"), bool)
    )
    if not ok:
        return None
    return Pushed(
        item=item,
        received_at=value.get("received_at") or 0,
        expires_at=value.get("expires_at") or 0,
        playing=value["playing"],
        position_ms=value.get("position_ms"),
        ended=ended,
        ended_at=value.get("ended_at"),
    )


# -- the song of the moment -----------------------------------------------------------------


def song_at(record: Pushed | None, now_ms: int) -> Song | None:
    """What the record says at `now_ms`: the pushed item while it plays (position from
    its receipt, so readers extrapolate) or is paused; else the latest ended play (an
    expired item counts as one, from its arrival); else None."""
    if record is None:
        return None
    item = record.item
    if item is not None and now_ms < record.expires_at:
        return item | {
            "isPlaying": record.playing,
            "source": "current",
            "progressMs": record.position_ms if record.position_ms is not None else 0,
            "progressAt": record.received_at,
            "playedAt": None,
        }
    expired = item if item is not None else None
    if expired is not None and (record.ended_at is None or record.ended_at < record.received_at):
        return as_ended(expired, record.received_at)
    return record.ended


def as_ended(song: Song, started_at_ms: int) -> Song:
    return song | {
        "isPlaying": False,
        "source": "recent",
        "progressMs": None,
        "progressAt": None,
        "playedAt": iso(started_at_ms),
    }


def same_item(a: Song, b: Song) -> bool:
    """One track told twice (a `single` for the playing item): same name and artists."""
    return a["name"].casefold() == b["name"].casefold() and [
        x.casefold() for x in a["artists"]
    ] == [x.casefold() for x in b["artists"]]


def expiry(now_ms: int, duration_ms: int | None, position_ms: int | None) -> int:
    if duration_ms is None:
        return now_ms + DEFAULT_PLAY_MS
    return now_ms + max(0, duration_ms - (position_ms or 0))


def position_at(record: Pushed, now_ms: int) -> int:
    """The item's position at `now_ms`, extrapolated while it plays, capped at its end."""
    position = record.position_ms or 0
    if record.playing:
        position += max(0, now_ms - record.received_at)
    duration = record.item["durationMs"] if record.item else None
    return min(position, duration) if duration is not None else position


# -- transitions: each is a whole submission folded into the stored record ------------------


def now_playing(
    previous: Pushed | None,
    song: Song,
    now_ms: int,
    *,
    position_ms: int | None = None,
    playing: bool = True,
) -> Pushed:
    """A new playing item replaces whatever played (the latest ended play is kept). The
    item already playing, told again (clients resend `playing_now` periodically) before
    its end and with no position, goes on where it is: no reset to 0, no new play."""
    base = previous or Pushed()
    if position_ms is None and previous is not None and still_playing(previous, song, now_ms):
        return _told_again(previous, song, now_ms, playing)
    duration = song["durationMs"]
    if duration is not None and position_ms is not None:
        position_ms = min(position_ms, duration)
    return _from_now(base, song, now_ms, duration, position_ms or 0, playing)


def same_release(a: Song, b: Song) -> bool:
    """One item told twice as it plays: same type, track, artists and release."""
    return (
        a["type"] == b["type"]
        and same_item(a, b)
        and a["album"].casefold() == b["album"].casefold()
    )


def still_playing(record: Pushed, song: Song, now_ms: int) -> bool:
    """Whether `song` is the record's item and that item has not ended yet at `now_ms`."""
    item = record.item
    return item is not None and now_ms < record.expires_at and same_release(item, song)


def _told_again(previous: Pushed, song: Song, now_ms: int, playing: bool) -> Pushed:
    """The item as told again: its newest details, its position extrapolated (a duration
    the repeat leaves out is kept). While it keeps playing, nothing about its timing
    changes; a pause or a resume takes its position at `now_ms`."""
    item = previous.item
    duration = song["durationMs"]
    if duration is None and item is not None:
        duration = item["durationMs"]
    song = song | {"durationMs": duration}
    if previous.playing and playing:
        ends = expiry(previous.received_at, duration, previous.position_ms)
        return replace(previous, item=song, expires_at=ends)
    return _from_now(previous, song, now_ms, duration, position_at(previous, now_ms), playing)


def _from_now(
    base: Pushed, song: Song, now_ms: int, duration: int | None, position: int, playing: bool
) -> Pushed:
    """The record with `song` at `position` as of `now_ms`: playing, it ends when what is
    left of its duration has passed; paused, it is kept for PAUSED_MS."""
    return replace(
        base,
        item=song,
        received_at=now_ms,
        expires_at=expiry(now_ms, duration, position) if playing else now_ms + PAUSED_MS,
        playing=playing,
        position_ms=position,
    )


def paused(previous: Pushed | None, now_ms: int) -> Pushed | None:
    """The playing item paused at its current position; None when nothing is pushed."""
    if previous is None or previous.item is None or now_ms >= previous.expires_at:
        return None
    return replace(
        previous,
        received_at=now_ms,
        expires_at=now_ms + PAUSED_MS,
        playing=False,
        position_ms=position_at(previous, now_ms),
    )


def resumed(previous: Pushed | None, now_ms: int) -> Pushed | None:
    """The paused item playing again from where it stopped; None when there is none."""
    if previous is None or previous.item is None or now_ms >= previous.expires_at:
        return None
    position = position_at(previous, now_ms)
    return replace(
        previous,
        received_at=now_ms,
        expires_at=expiry(now_ms, previous.item["durationMs"], position),
        playing=True,
        position_ms=position,
    )


def cleared(previous: Pushed | None) -> Pushed | None:
    """Nothing plays any more (the latest ended play is kept); None: nothing to clear."""
    if previous is None or previous.item is None:
        return None
    return replace(previous, item=None, received_at=0, expires_at=0, playing=False)


def listened(previous: Pushed | None, song: Song, listened_at_ms: int) -> Pushed:
    """A play that ended (or counts already: clients send `single` at half the track or
    4 minutes, while it still plays). It becomes the latest ended play when it is newer
    than the one known. It ends the playing item only when it is another item that
    started after that one arrived (the player moved on); a late scrobble of an earlier
    track, or one for the playing item itself, leaves the playing item alone."""
    base = previous or Pushed()
    if base.ended_at is None or listened_at_ms >= base.ended_at:
        base = replace(base, ended=as_ended(song, listened_at_ms), ended_at=listened_at_ms)
    item = base.item
    if (
        item is not None
        and not same_item(item, song)
        and listened_at_ms > base.received_at - LATE_SCROBBLE_SLACK_MS
    ):
        base = replace(base, item=None, received_at=0, expires_at=0, playing=False)
    return base


# -- Redis ------------------------------------------------------------------------------------


async def read_pushed(store: Store) -> Pushed | None:
    raw: Any = await store.redis.get(store.keys.push)
    return decode_pushed(raw)


Change = Callable[[Pushed | None], Pushed | None]


async def update_pushed(store: Store, change: Change) -> Pushed | None:
    """Store `change(stored)` and PUBLISH `push` on the wake channel in one transaction,
    or change nothing (and publish nothing) when it says None. WATCH makes two web
    processes that take a submission at once retry instead of losing one."""
    key = store.keys.push
    async with store.redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                new = change(decode_pushed(await pipe.get(key)))
                if new is None:
                    await pipe.unwatch()
                    return None
                pipe.multi()
                pipe.set(key, encode_pushed(new))
                pipe.publish(store.keys.wake, WAKE_REASON)
                await pipe.execute()
                return new
            except WatchError:
                continue
