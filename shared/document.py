"""The one JSON document every reader gets (see the contract), and its wire encoding."""

from __future__ import annotations

import json
from typing import Literal, TypedDict

SongSource = Literal["current", "recent"]
SongType = Literal["track", "episode"]
Provider = Literal["spotify", "lastfm", "listenbrainz"]


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
    """A stored document, or None when the bytes are not one (never raises)."""
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict) or not isinstance(value.get("version"), int):
        return None
    if not isinstance(value.get("updatedAt"), int) or "song" not in value:
        return None
    return value  # type: ignore[return-value]
