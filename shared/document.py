"""The one JSON document every reader gets (see the contract), and its wire encoding."""

from __future__ import annotations

import json
from typing import Literal, TypedDict, get_args

SongSource = Literal["current", "recent"]
SongType = Literal["track", "episode"]
Provider = Literal["spotify", "lastfm", "listenbrainz", "lanyard", "push"]


class Image(TypedDict):
    url: str
    width: int | None
    height: int | None


class Song(TypedDict):
    isPlaying: bool
    source: SongSource
    type: SongType
    id: str | None
    name: str
    artists: list[str]
    album: str
    albumImageUrl: str | None
    images: list[Image]
    spotifyUrl: str | None
    previewUrl: str | None
    durationMs: int | None
    progressMs: int | None
    progressAt: int | None
    playedAt: str | None
    explicit: bool | None
    provider: Provider
    url: str | None


class Document(TypedDict):
    version: int
    updatedAt: int
    stale: bool
    demo: bool
    pausedUntil: int | None
    song: Song | None


def empty_document(demo: bool = False) -> Document:
    """What readers get before the poller ever published: nothing known, not trusted."""
    return {
        "version": 0,
        "updatedAt": 0,
        "stale": True,
        "demo": demo,
        "pausedUntil": None,
        "song": None,
    }


def encode(document: Document) -> bytes:
    """Compact UTF-8 JSON: the exact bytes stored in Redis, served and streamed."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes | str) -> Document | None:
    """A stored document, or None when the bytes are not one in every field (never
    raises): readers keep their last valid document rather than serve a broken one."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if is_document(value) else None


def stored_version(raw: bytes | str) -> int:
    """The version of stored bytes even when they are no valid document (0 if none), so
    that a writer replacing them still goes above it: versions never go backwards."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return 0
    version = value.get("version") if isinstance(value, dict) else None
    return version if isinstance(version, int) and _int(version) and version > 0 else 0


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The last millisecond `datetime` can format (9999-12-31T23:59:59.999Z). Every int of a
# document other than its version is an epoch or a duration in ms, or a pixel size: one
# past this bound (a `pausedUntil` of 1e20 written into Redis) made `fromtimestamp` raise
# OverflowError in the middle of a view, a 500 for every reader, so such a document is
# refused whole like any other wrong-shaped one.
MAX_MS = 253_402_300_799_999


def _ms(value: object) -> bool:
    """An int from 0 to MAX_MS: something `datetime` and float arithmetic can hold."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_MS


def _opt(value: object, kind: type | tuple[type, ...]) -> bool:
    """None, or a value of `kind` (a bool is no int here, though Python says it is;
    an int must lie within 0..MAX_MS)."""
    if kind is int:
        return value is None or _ms(value)
    return value is None or isinstance(value, kind)


_SONG_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "albumImageUrl": str,
    "spotifyUrl": str,
    "previewUrl": str,
    "durationMs": int,
    "progressMs": int,
    "progressAt": int,
    "playedAt": str,
}
# Added in 2026-11: documents stored by an older poller lack them; absent is fine.
_NEWER_SONG_FIELDS: dict[str, type | tuple[type, ...]] = {"url": str, "explicit": bool}


def is_image(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("url"), str)
        and _opt(value.get("width"), int)
        and _opt(value.get("height"), int)
    )


def is_song(value: object) -> bool:
    """Every field of the contract's song, with its type (extra fields are tolerated)."""
    if not isinstance(value, dict):
        return False
    artists, images = value.get("artists"), value.get("images")
    return (
        isinstance(value.get("isPlaying"), bool)
        and value.get("source") in ("current", "recent")
        and value.get("type") in ("track", "episode")
        and isinstance(value.get("name"), str)
        and isinstance(artists, list)
        and all(isinstance(a, str) for a in artists)
        and isinstance(value.get("album"), str)
        and isinstance(images, list)
        and all(is_image(i) for i in images)
        and all(k in value and _opt(value[k], kind) for k, kind in _SONG_FIELDS.items())
        and all(_opt(value.get(k), kind) for k, kind in _NEWER_SONG_FIELDS.items())
        and value.get("provider", "spotify") in get_args(Provider)
    )


def is_document(value: object) -> bool:
    """The contract's document shape, checked whole (a reader renders every field)."""
    if not isinstance(value, dict):
        return False
    return (
        _int(value.get("version"))
        and value["version"] >= 0
        and _ms(value.get("updatedAt"))
        and isinstance(value.get("stale"), bool)
        and isinstance(value.get("demo"), bool)
        and _opt(value.get("pausedUntil"), int)
        and "song" in value
        and (value["song"] is None or is_song(value["song"]))
    )
