"""The simulated player: a playlist that plays on in real time, shaped like Spotify's JSON.

Pure apart from the clock passed to each method, so tests can move time by hand. Payloads
follow the OpenAPI description (TrackObject, EpisodeObject, CurrentlyPlayingObject,
ContextObject, SimplifiedArtistObject, CursorPagingPlayHistoryObject) and answers recorded
by public projects: a `context` object (type, uri, href, external_urls) as in zmb3/spotify's
test_data/player_currently_playing.txt; catalogue artists and albums with ids and uris; a
local file as Spotify really sends it (felix-hilden/tekore issue #200: `is_local` true, id,
href and every uri but the track's null, `uri` `spotify:local:Artist:Album:Title:secs`,
names without ids, no images, empty `external_urls`); recently-played with string
`cursors` {after, before} (ms of the newest and oldest play), a `next` page URL and no
`total` (zmb3/spotify test_data/player_recently_played.txt). Only the fields a client may
read are filled in.
"""

from __future__ import annotations

import hashlib
import string
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus

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
    Item(
        "track",
        None,
        "home-demo-take-3.mp3",
        ("The Basement Tapes",),
        "Home Demos",
        95_000,
        "888888",
        local=True,
    ),
)


# The colour of each catalog item's art, by the key its image URLs carry.
ART_COLORS = {item.id: item.color for item in CATALOG if item.id and not item.local}


def _id_or_hash(item: Item) -> str:
    return item.id or f"local{zlib.crc32(item.name.encode()):08x}"


BASE62 = string.digits + string.ascii_letters
SHOW_ID = "5CfCWKI5pZ28U0uOzXkDHe"


def spotify_id(kind: str, name: str) -> str:
    """A stable, made-up 22-character base-62 Spotify id for a catalogue name."""
    number = int.from_bytes(hashlib.sha256(f"{kind}:{name}".encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


def linked(kind: str, id: str | None, name: str) -> JSON:
    """An artist (or other linked object): with id, uri, href and page in the catalogue;
    with the name alone for a local file."""
    if id is None:
        return {
            "external_urls": {},
            "href": None,
            "id": None,
            "name": name,
            "type": kind,
            "uri": None,
        }
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id}"},
        "href": f"https://api.spotify.com/v1/{kind}s/{id}",
        "id": id,
        "name": name,
        "type": kind,
        "uri": f"spotify:{kind}:{id}",
    }


def context_json(kind: str, id: str) -> JSON:
    """A ContextObject: what the item is played from."""
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{id}"},
        "href": f"https://api.spotify.com/v1/{kind}s/{id}",
        "type": kind,
        "uri": f"spotify:{kind}:{id}",
    }


PLAYLIST_CONTEXT = context_json("playlist", spotify_id("playlist", "nowplaying simulator"))


def local_uri(item: Item) -> str:
    """`spotify:local:<artist>:<album>:<title>:<seconds>`, each part form-encoded."""
    artist = item.artists[0] if item.artists else ""
    parts = (artist, item.album, item.name)
    return (
        "spotify:local:" + ":".join(quote_plus(p) for p in parts) + f":{item.duration_ms // 1000}"
    )


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

    def art_url(self, item: Item, size: int) -> str | None:
        """The item's art at `size` px (34, 64, 174, 300 or 640); None for a local file."""
        return None if item.local else f"{self.art_base}/{_id_or_hash(item)}-{size}.png"

    def images(self, item: Item) -> list[JSON]:
        if item.local:
            return []
        return [
            {"url": self.art_url(item, size), "width": size, "height": size}
            for size in (640, 300, 64)
        ]

    def item_json(self, item: Item) -> JSON:
        if item.local:
            return self.local_json(item)
        key = _id_or_hash(item)
        common: JSON = {
            "id": item.id,
            "name": item.name,
            "duration_ms": item.duration_ms,
            "explicit": False,
            "external_urls": {"spotify": f"https://open.spotify.com/{item.kind}/{key}"},
            "href": f"https://api.spotify.com/v1/{item.kind}s/{key}",
            "type": item.kind,
            "uri": f"spotify:{item.kind}:{key}",
            "is_local": False,
        }
        if item.kind == "episode":
            show_images = self.images(item)
            return common | {
                "audio_preview_url": None,
                "description": "A conversation about software that outlives its authors.",
                "images": show_images,
                "release_date": "2026-11-01",
                "release_date_precision": "day",
                "show": linked("show", SHOW_ID, item.album)
                | {"publisher": item.artists[0], "images": show_images},
            }
        artists = [linked("artist", spotify_id("artist", a), a) for a in item.artists]
        album_id = spotify_id("album", item.album)
        return common | {
            "album": linked("album", album_id, item.album)
            | {
                "album_type": "album",
                "artists": artists,
                "images": self.images(item),
                "release_date": "1987-11-12",
                "release_date_precision": "day",
                "total_tracks": 12,
            },
            "artists": artists,
            "disc_number": 1,
            "external_ids": {},
            "track_number": 1,
            "popularity": 77,
            "preview_url": None,
        }

    def local_json(self, item: Item) -> JSON:
        """A local file: names from its tags, no ids, no images, no pages."""
        return {
            "album": linked("album", None, item.album)
            | {
                "album_type": None,
                "artists": [],
                "available_markets": [],
                "images": [],
                "release_date": None,
                "release_date_precision": None,
            },
            "artists": [linked("artist", None, a) for a in item.artists],
            "available_markets": [],
            "disc_number": 0,
            "duration_ms": item.duration_ms,
            "explicit": False,
            "external_ids": {},
            "external_urls": {},
            "href": None,
            "id": None,
            "is_local": True,
            "name": item.name,
            "popularity": 0,
            "preview_url": None,
            "track_number": 0,
            "type": "track",
            "uri": local_uri(item),
        }

    def context(self, item: Item) -> JSON | None:
        """Episodes play from their show, tracks from the simulator's playlist; a local
        file from the Local Files list, which has no context."""
        if item.local:
            return None
        return context_json("show", SHOW_ID) if item.kind == "episode" else PLAYLIST_CONTEXT

    def currently_playing(self, now_ms: int, additional_types: set[str]) -> JSON | None:
        """The body of GET /me/player/currently-playing, or None for a 204."""
        self.advance(now_ms)
        if self.mode == "stopped":
            return None
        body: JSON = {
            "timestamp": self.changed_at_ms,
            "context": self.context(self.items[self.index]),
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
            {
                "track": self.item_json(self.items[i]),
                "played_at": iso(at),
                "context": self.context(self.items[i]),
            }
            for i, at in entries
        ]
        base = "https://api.spotify.com/v1/me/player/recently-played"
        cursors = {"after": str(entries[0][1]), "before": str(entries[-1][1])} if entries else None
        return {
            "href": f"{base}?limit={limit}",
            "limit": limit,
            "next": f"{base}?before={entries[-1][1]}&limit={limit}" if entries else None,
            "cursors": cursors,
            "items": items,
        }
