"""Spotify payloads shaped like the OpenAPI description (CurrentlyPlayingObject,
TrackObject, EpisodeObject, CursorPagingPlayHistoryObject), written out by hand so the
normalizer is tested against the specification rather than against our simulator."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def image(url: str, size: int | None) -> JSON:
    return {"url": url, "width": size, "height": size}


def track(
    *,
    id: str | None = "4uLU6hMCjMI75M1A2tKUQC",
    name: str = "Never Gonna Give You Up",
    artists: tuple[str, ...] = ("Rick Astley",),
    album: str = "Whenever You Need Somebody",
    images: list[JSON] | None = None,
    duration_ms: int = 213573,
    is_local: bool = False,
    preview_url: str | None = None,
) -> JSON:
    if images is None:
        images = [
            image("https://i.scdn.co/image/640", 640),
            image("https://i.scdn.co/image/64", 64),
        ]
    return {
        "album": {
            "album_type": "album",
            "id": None if is_local else "6XzMYdNsdzfaE8c2aSjhfu",
            "images": images,
            "name": album,
            "type": "album",
            "external_urls": {} if is_local else {"spotify": "https://open.spotify.com/album/x"},
        },
        "artists": [{"name": a, "type": "artist", "id": None} for a in artists],
        "duration_ms": duration_ms,
        "explicit": False,
        "external_urls": {} if is_local else {"spotify": f"https://open.spotify.com/track/{id}"},
        "href": None if is_local else f"https://api.spotify.com/v1/tracks/{id}",
        "id": id,
        "is_local": is_local,
        "name": name,
        "popularity": 0,
        "preview_url": preview_url,
        "track_number": 1,
        "type": "track",
        "uri": f"spotify:track:{id}",
    }


def episode(*, own_images: bool = True, audio_preview_url: str | None = None) -> JSON:
    show_images = [image("https://i.scdn.co/image/show300", 300)]
    return {
        "audio_preview_url": audio_preview_url,
        "description": "d",
        "duration_ms": 1800000,
        "explicit": False,
        "external_urls": {"spotify": "https://open.spotify.com/episode/512ojhOuo1ktJprKbVcKyQ"},
        "href": "https://api.spotify.com/v1/episodes/512ojhOuo1ktJprKbVcKyQ",
        "id": "512ojhOuo1ktJprKbVcKyQ",
        "images": [image("https://i.scdn.co/image/ep640", 640)] if own_images else [],
        "name": "Episode 42",
        "release_date": "2026-11-01",
        "release_date_precision": "day",
        "type": "episode",
        "uri": "spotify:episode:512ojhOuo1ktJprKbVcKyQ",
        "show": {
            "id": "5CfCWKI5pZ28U0uOzXkDHe",
            "name": "The Maintainers Show",
            "publisher": "Open Source Radio",
            "images": show_images,
            "type": "show",
        },
    }


def currently_playing(
    item: JSON | None,
    *,
    progress_ms: int | None = 61234,
    is_playing: bool = True,
    kind: str | None = None,
) -> JSON:
    return {
        "context": None,
        "timestamp": 1_700_000_000_000,
        "progress_ms": progress_ms,
        "is_playing": is_playing,
        "item": item,
        "currently_playing_type": kind or (item["type"] if item else "unknown"),
        "actions": {"disallows": {"resuming": True}},
    }


def recently_played(*entries: tuple[JSON, str]) -> JSON:
    return {
        "href": "https://api.spotify.com/v1/me/player/recently-played?limit=1",
        "limit": 1,
        "next": None,
        "cursors": {"after": "1", "before": "0"},
        "total": len(entries),
        "items": [{"track": t, "played_at": at, "context": None} for t, at in entries],
    }
