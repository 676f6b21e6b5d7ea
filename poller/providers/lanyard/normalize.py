"""Lanyard presences in, the contract's `song` out. Pure: no I/O.

Built from Lanyard's own README (https://github.com/Phineas/lanyard, "Getting a user's
presence data": `data.listening_to_spotify`, `data.spotify` with `track_id`, `song`,
`artist` as `;`-separated names, `album`, `album_art_url`, `timestamps.start/end` in ms) and
its source (lib/presence/spotify.ex: `track_id` from the activity's `sync_id`, nil for a
local file; `artist`, `album` and `album_art_url` nil when the activity lacks them;
`album_art_url` is always `https://i.scdn.co/image/<id>`; `timestamps` may be nil).
Spotify's image ids carry their size (`ab67616d0000b273` 640 px, `...1e02` 300,
`...4851` 64), as every Spotify album image list shows.

What must stay true: Lanyard knows position but not pause (a paused track is simply no
activity), so everything it reports is playing; names pass through `clean_text`; the
Spotify URL is built only from a well-formed track id, never from text.
"""

from __future__ import annotations

import re
from typing import Any

from poller.providers.lastfm.normalize import iso_from_seconds
from shared.document import Image, Song
from shared.text import clean_text

_TRACK_ID = re.compile(r"^[A-Za-z0-9]{22}$")
_SIZES = {"ab67616d0000b273": 640, "ab67616d00001e02": 300, "ab67616d00004851": 64}


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return clean_text(value).strip() if isinstance(value, str) else ""


def _ms(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def artists(value: object) -> list[str]:
    """`"A; B"` as `["A", "B"]`: Spotify's client joins the names with `;`."""
    if not isinstance(value, str):
        return []
    return [name for name in (_text(part) for part in value.split(";")) if name]


def images(value: object) -> list[Image]:
    """The one album image Lanyard gives, with its size when the id says it."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        return []
    key = value.rsplit("/", 1)[-1][:16]
    size = _SIZES.get(key)
    return [{"url": value, "width": size, "height": size}]


def spotify_activity(payload: object) -> dict[str, Any] | None:
    """`data.spotify` while `data.listening_to_spotify`, else None."""
    data = _dict(_dict(payload).get("data"))
    spotify = data.get("spotify")
    if data.get("listening_to_spotify") is False or not isinstance(spotify, dict):
        return None
    return spotify


def normalize_presence(payload: object, received_ms: int) -> Song | None:
    """The playing track of a `GET /v1/users/<id>` answer; None when nothing plays.

    `progressMs` is measured at `received_ms` (the poller's receive time, `progressAt`)
    from the track's start, capped at its duration."""
    spotify = spotify_activity(payload)
    if spotify is None:
        return None
    name = _text(spotify.get("song"))
    if not name:
        return None
    track_id = spotify.get("track_id")
    track = track_id if isinstance(track_id, str) and _TRACK_ID.match(track_id) else None
    url = f"https://open.spotify.com/track/{track}" if track else None
    times = _dict(spotify.get("timestamps"))
    start, end = _ms(times.get("start")), _ms(times.get("end"))
    duration = end - start if start is not None and end is not None and end > start else None
    progress: int | None = None
    if start is not None:
        progress = max(0, received_ms - start)
        if duration is not None:
            progress = min(progress, duration)
    art = images(spotify.get("album_art_url"))
    return {
        "isPlaying": True,
        "source": "current",
        "type": "track",
        "id": track,
        "name": name,
        "artists": artists(spotify.get("artist")),
        "album": _text(spotify.get("album")),
        "albumImageUrl": art[0]["url"] if art else None,
        "images": art,
        "spotifyUrl": url,
        "previewUrl": None,
        "durationMs": duration,
        "progressMs": progress,
        "progressAt": received_ms if progress is not None else None,
        "playedAt": None,
        "explicit": None,
        "provider": "lanyard",
        "url": url,
    }


def as_recent(song: Song, last_seen_ms: int) -> Song:
    """The last track seen playing, once its activity vanished (a pause or a stop: Lanyard
    cannot tell them apart): `recent`, played at the last time it was seen."""
    recent = song.copy()
    recent["isPlaying"] = False
    recent["source"] = "recent"
    recent["progressMs"] = None
    recent["progressAt"] = None
    recent["playedAt"] = iso_from_seconds(last_seen_ms // 1000)
    return recent
