"""Spotify payloads in, the contract's `song` out. Pure: no I/O, no clock.

Spotify's objects are loosely filled in practice (local files have no id and no images,
ads have no item, episodes come back null without `additional_types`), so every field is
read defensively: a surprising payload yields None, never an exception.
"""

from __future__ import annotations

from typing import Any

from shared.document import Image, Song
from shared.text import clean_text

JSON = dict[str, Any]


def _dict(value: object) -> JSON:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value >= 0 else None


def images_of(value: object) -> list[Image]:
    """Valid images, largest first (Spotify usually sends them so, but not always)."""
    result: list[Image] = []
    for raw in value if isinstance(value, list) else []:
        url = _str(_dict(raw).get("url"))
        if url is None:
            continue
        width, height = _int(raw.get("width")), _int(raw.get("height"))
        result.append({"url": url, "width": width, "height": height})
    result.sort(key=lambda img: (img["width"] or 0) * (img["height"] or 0), reverse=True)
    return result


def _spotify_url(item: JSON) -> str | None:
    url = _str(_dict(item.get("external_urls")).get("spotify"))
    return url if url and url.startswith("https://") else None


def _song_from_item(item: object) -> Song | None:
    """The parts of a song that come from a track or episode object alone."""
    obj = _dict(item)
    kind = obj.get("type")
    name = obj.get("name")
    if kind not in ("track", "episode") or not isinstance(name, str):
        return None
    if kind == "track":
        album = _dict(obj.get("album"))
        artists = [
            clean_text(a["name"])
            for a in obj.get("artists") or []
            if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"]
        ]
        album_name = clean_text(str(album.get("name") or ""))
        images = images_of(album.get("images"))
        preview = _str(obj.get("preview_url"))
    else:
        show = _dict(obj.get("show"))
        album_name = clean_text(str(show.get("name") or ""))
        # Spotify deprecated the show's `publisher` (2026): without it, the show is the artist.
        publisher = clean_text(_str(show.get("publisher")) or "")
        artist = publisher or album_name
        artists = [artist] if artist else []
        images = images_of(obj.get("images")) or images_of(show.get("images"))
        preview = _str(obj.get("audio_preview_url"))
    local = obj.get("is_local") is True
    song: Song = {
        "isPlaying": False,
        "source": "current",
        "type": kind,
        "id": None if local else _str(obj.get("id")),
        "name": clean_text(name),
        "artists": artists,
        "album": album_name,
        "albumImageUrl": images[0]["url"] if images else None,
        "images": images,
        "spotifyUrl": None if local else _spotify_url(obj),
        "previewUrl": preview,
        "durationMs": _int(obj.get("duration_ms")),
        "progressMs": None,
        "progressAt": None,
        "playedAt": None,
        "explicit": obj["explicit"] if isinstance(obj.get("explicit"), bool) else None,
        "provider": "spotify",
        "url": None,
    }
    song["url"] = song["spotifyUrl"]
    return song


def normalize_current(payload: object, received_at_ms: int) -> Song | None:
    """A currently-playing body to a song; None for an ad, an unknown type or no item.

    `received_at_ms` becomes `progressAt`: Spotify's own `timestamp` marks the last state
    change, not the moment `progress_ms` was measured.
    """
    body = _dict(payload)
    song = _song_from_item(body.get("item"))
    if song is None:
        return None
    progress = _int(body.get("progress_ms"))
    duration = song["durationMs"]
    if progress is not None and duration is not None:
        progress = min(progress, duration)
    song["isPlaying"] = body.get("is_playing") is True
    song["progressMs"] = progress
    song["progressAt"] = received_at_ms if progress is not None else None
    return song


def normalize_recent(payload: object) -> Song | None:
    """The newest entry of a recently-played body, as a `source: "recent"` song."""
    items = _dict(payload).get("items")
    if not isinstance(items, list):
        return None
    entries = [e for e in items if isinstance(e, dict)]
    entries.sort(key=lambda e: str(e.get("played_at") or ""), reverse=True)
    for entry in entries:
        song = _song_from_item(entry.get("track"))
        if song is None:
            continue
        song["source"] = "recent"
        song["playedAt"] = _str(entry.get("played_at"))
        return song
    return None
