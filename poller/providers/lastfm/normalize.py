"""Last.fm `user.getRecentTracks` payloads in, the contract's `song` out. Pure: no I/O.

Built from Last.fm's own documentation of the method and its JSON examples:
https://www.last.fm/api/show/user.getRecentTracks and
https://lastfm-docs.github.io/api-docs/user/getRecentTracks (the community-kept JSON shape:
`recenttracks.track[]`, `@attr.nowplaying == "true"` on the item being played, `date.uts` in
seconds on every scrobble, `image[]` as `{"size", "#text"}` from small to extralarge, empty
`#text` when there is no art, `mbid` as an empty string when unknown).

What must stay true: only the now-playing item is `isPlaying`; a scrobble is `source:
"recent"` with `playedAt`; Last.fm knows no position, so duration and progress stay null.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from shared.document import Image, Song

# The grey star Last.fm serves for "no image" (seen in every API answer without art).
PLACEHOLDER_IMAGE = "2a96cbd8b46e442fc41c2b86b821562f"
SIZES = {"small": 34, "medium": 64, "large": 174, "extralarge": 300, "mega": 300}
_MBID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    """Last.fm writes names either as a string or as `{"#text": ...}` (or `name` when extended)."""
    if isinstance(value, str):
        return value
    obj = _dict(value)
    for key in ("#text", "name"):
        if isinstance(obj.get(key), str) and obj[key]:
            return str(obj[key])
    return ""


def mbid(value: object) -> str | None:
    """A MusicBrainz id, or None for Last.fm's empty string and anything malformed."""
    return value.lower() if isinstance(value, str) and _MBID.match(value.lower()) else None


def iso_from_seconds(seconds: int) -> str:
    """`date.uts` (seconds) as ISO 8601, the same shape as Spotify's `played_at`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def images(value: object) -> list[Image]:
    """Usable images, largest first: no empty URLs, no placeholder star, http(s) only."""
    result: list[Image] = []
    for raw in value if isinstance(value, list) else []:
        url = _dict(raw).get("#text")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        if PLACEHOLDER_IMAGE in url:
            continue
        size = SIZES.get(str(_dict(raw).get("size")))
        result.append({"url": url, "width": size, "height": size})
    result.sort(key=lambda img: img["width"] or 0, reverse=True)
    return result


def page_url(value: object) -> str | None:
    """The item's page on Last.fm; the XML docs show it without a scheme."""
    if not isinstance(value, str):
        return None
    if value.startswith("www.last.fm/"):
        value = "https://" + value
    return value if value.startswith("https://") else None


def tracks(payload: object) -> list[dict[str, Any]]:
    """`recenttracks.track`, which a single result may carry as one object, not a list."""
    raw = _dict(_dict(payload).get("recenttracks")).get("track")
    items = raw if isinstance(raw, list) else [raw]
    return [t for t in items if isinstance(t, dict)]


def _uts(track: dict[str, Any]) -> int | None:
    raw = _dict(track.get("date")).get("uts")
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if value > 0 else None


def _song(track: dict[str, Any]) -> Song | None:
    name = track.get("name")
    if not isinstance(name, str) or not name:
        return None
    artist = _text(track.get("artist"))
    found = images(track.get("image"))
    return {
        "isPlaying": False,
        "source": "recent",
        "type": "track",
        "id": mbid(track.get("mbid")),
        "name": name,
        "artists": [artist] if artist else [],
        "album": _text(track.get("album")),
        "albumImageUrl": found[0]["url"] if found else None,
        "images": found,
        "spotifyUrl": None,
        "previewUrl": None,
        "durationMs": None,
        "progressMs": None,
        "progressAt": None,
        "playedAt": None,
        "explicit": None,
        "provider": "lastfm",
        "url": page_url(track.get("url")),
    }


def _now_playing(track: dict[str, Any]) -> bool:
    return str(_dict(track.get("@attr")).get("nowplaying", "")).lower() == "true"


def normalize_recent_tracks(payload: object) -> Song | None:
    """The now-playing item if there is one, else the latest scrobble; None when empty."""
    items = tracks(payload)
    for track in items:
        if _now_playing(track):
            song = _song(track)
            if song is not None:
                song["isPlaying"] = True
                song["source"] = "current"
                return song
    scrobbles = [(uts, t) for t in items if (uts := _uts(t)) is not None]
    scrobbles.sort(key=lambda pair: pair[0], reverse=True)
    for uts, track in scrobbles:
        song = _song(track)
        if song is not None:
            song["playedAt"] = iso_from_seconds(uts)
            return song
    return None
