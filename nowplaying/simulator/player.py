"""The simulated player: a playlist that plays on in real time, shaped like Spotify's JSON.

Pure apart from the clock passed to each method, so tests can move time by hand. Payloads
follow the OpenAPI description (TrackObject, EpisodeObject, CurrentlyPlayingObject,
CursorPagingPlayHistoryObject); only the fields a client may read are filled in.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Mode = Literal["playing", "paused", "stopped", "ad"]
JSON = dict[str, Any]


@dataclass(frozen=True)
class Item:
    kind: Literal["track", "episode"]
    id: str | None
    name: str
    artists: tuple[str, ...]
    album: str
    duration_ms: int
    color: str
    local: bool = False


CATALOG: tuple[Item, ...] = (
    Item(
        "track",
        "4uLU6hMCjMI75M1A2tKUQC",
        "Never Gonna Give You Up",
        ("Rick Astley",),
        "Whenever You Need Somebody",
        213_573,
        "1db954",
    ),
    Item(
        "track",
        "7ouMYWpwJ422jRcDASZB7P",
        "Midnight Circuits",
        ("Nova Lane", "The Relays"),
        "Signal & Noise",
        187_000,
        "e05d44",
    ),
    Item(
        "track",
        "3n3Ppam7vgaVa1iaRUc9Lp",
        "Café del Mar — Ünïcødé 東京",
        ("Sóley", "Björk"),
        'Mixed <Tapes> & "Quotes"',
        241_000,
        "6f42c1",
    ),
    Item(
        "episode",
        "512ojhOuo1ktJprKbVcKyQ",
        "Episode 42: Building Things That Last",
        ("Open Source Radio",),
        "The Maintainers Show",
        1_800_000,
        "f0a500",
    ),
    Item("track", None, "home-demo-take-3.mp3", (), "", 95_000, "888888", local=True),
)


# The colour of each catalog item's art, by the key its image URLs carry.
ART_COLORS = {item.id: item.color for item in CATALOG if item.id and not item.local}


def _id_or_hash(item: Item) -> str:
    return item.id or f"local{zlib.crc32(item.name.encode()):08x}"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{ms % 1000:03d}Z"
    )


@dataclass
class Player:
    """Mutable state of the one simulated listener; the simulator app owns one."""

    art_base: str
    items: tuple[Item, ...] = CATALOG
    mode: Mode = "playing"
    index: int = 0
    position_ms: int = 0
    anchor_ms: int = 0
    changed_at_ms: int = 0
    history: list[tuple[int, int]] = field(default_factory=list)

    def start(self, now_ms: int) -> None:
        self.anchor_ms = now_ms
        self.changed_at_ms = now_ms

    # -- time ---------------------------------------------------------------------------

    def advance(self, now_ms: int) -> None:
        """Play on to `now_ms`: finished items go to history, the next one starts."""
        if self.mode != "playing":
            self.anchor_ms = now_ms
            return
        elapsed = now_ms - self.anchor_ms
        while elapsed > 0:
            left = self.items[self.index].duration_ms - self.position_ms
            if elapsed < left:
                self.position_ms += elapsed
                break
            elapsed -= left
            ended_at = now_ms - elapsed
            self._finish(ended_at)
        self.anchor_ms = now_ms

    def _finish(self, ended_at_ms: int) -> None:
        if self.items[self.index].kind == "track":
            self.history.append((self.index, ended_at_ms))
            del self.history[:-50]
        self.index = (self.index + 1) % len(self.items)
        self.position_ms = 0
        self.changed_at_ms = ended_at_ms

    # -- control ------------------------------------------------------------------------

    def set_state(
        self,
        now_ms: int,
        *,
        mode: Mode | None = None,
        index: int | None = None,
        position_ms: int | None = None,
    ) -> None:
        self.advance(now_ms)
        if index is not None and index != self.index:
            if self.position_ms > 30_000 and self.items[self.index].kind == "track":
                self.history.append((self.index, now_ms))
            self.index = index % len(self.items)
            self.position_ms = 0
        if position_ms is not None:
            duration = self.items[self.index].duration_ms
            self.position_ms = max(0, min(position_ms, duration - 1))
        if mode is not None:
            self.mode = mode
        self.anchor_ms = now_ms
        self.changed_at_ms = now_ms

    def skip(self, now_ms: int) -> None:
        self.advance(now_ms)
        self._finish(now_ms)
        self.anchor_ms = now_ms

    # -- payloads -----------------------------------------------------------------------

    def images(self, item: Item) -> list[JSON]:
        if item.local:
            return []
        key = _id_or_hash(item)
        return [
            {"url": f"{self.art_base}/{key}-{size}.png", "width": size, "height": size}
            for size in (640, 300, 64)
        ]

    def item_json(self, item: Item) -> JSON:
        key = _id_or_hash(item)
        url = {} if item.local else {"spotify": f"https://open.spotify.com/{item.kind}/{key}"}
        common: JSON = {
            "id": item.id,
            "name": item.name,
            "duration_ms": item.duration_ms,
            "explicit": False,
            "external_urls": url,
            "href": None if item.local else f"https://api.spotify.com/v1/{item.kind}s/{key}",
            "type": item.kind,
            "uri": f"spotify:local:::{item.name}" if item.local else f"spotify:{item.kind}:{key}",
            "is_local": item.local,
        }
        if item.kind == "episode":
            show_images = self.images(item)
            return common | {
                "audio_preview_url": None,
                "description": "A conversation about software that outlives its authors.",
                "images": show_images,
                "release_date": "2026-11-01",
                "release_date_precision": "day",
                "show": {
                    "id": "5CfCWKI5pZ28U0uOzXkDHe",
                    "name": item.album,
                    "publisher": item.artists[0],
                    "images": show_images,
                    "type": "show",
                    "external_urls": {
                        "spotify": "https://open.spotify.com/show/5CfCWKI5pZ28U0uOzXkDHe"
                    },
                },
            }
        return common | {
            "album": {
                "album_type": "album",
                "id": None if item.local else f"alb{key[:19]}",
                "name": item.album,
                "images": self.images(item),
                "artists": [{"name": a, "type": "artist"} for a in item.artists],
                "type": "album",
                "release_date": "1987-11-12",
                "release_date_precision": "day",
                "total_tracks": 12,
            },
            "artists": [
                {"name": a, "type": "artist", "id": None, "external_urls": {}} for a in item.artists
            ],
            "disc_number": 1,
            "track_number": 1,
            "popularity": 0 if item.local else 77,
            "preview_url": None,
        }

    def currently_playing(self, now_ms: int, additional_types: set[str]) -> JSON | None:
        """The body of GET /me/player/currently-playing, or None for a 204."""
        self.advance(now_ms)
        if self.mode == "stopped":
            return None
        body: JSON = {
            "timestamp": self.changed_at_ms,
            "context": None,
            "progress_ms": self.position_ms,
            "is_playing": self.mode in ("playing", "ad"),
            "actions": {"disallows": {"resuming": self.mode == "playing"}},
        }
        if self.mode == "ad":
            return body | {"item": None, "currently_playing_type": "ad", "progress_ms": 1200}
        item = self.items[self.index]
        if item.kind == "episode" and "episode" not in additional_types:
            # Spotify's long-standing behaviour: episodes are hidden unless asked for.
            return body | {"item": None, "currently_playing_type": "episode"}
        return body | {"item": self.item_json(item), "currently_playing_type": item.kind}

    def recently_played(self, now_ms: int, limit: int) -> JSON:
        """The body of GET /me/player/recently-played (tracks only, newest first)."""
        self.advance(now_ms)
        entries = list(reversed(self.history))[:limit]
        items = [
            {"track": self.item_json(self.items[i]), "played_at": iso(at), "context": None}
            for i, at in entries
        ]
        return {
            "href": f"https://api.spotify.com/v1/me/player/recently-played?limit={limit}",
            "limit": limit,
            "next": None,
            "cursors": {"after": str(entries[0][1]) if entries else None, "before": None},
            "total": len(items),
            "items": items,
        }
