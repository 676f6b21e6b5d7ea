"""ListenBrainz listens in, the contract's `song` out. Pure: no I/O.

Built from ListenBrainz's documentation: the listen JSON
(https://listenbrainz.readthedocs.io/en/latest/users/json.html: `track_metadata` with
`artist_name`, `track_name`, `release_name`, `additional_info` and the server's
`mbid_mapping` with `recording_mbid`, `release_mbid`, `caa_id`, `caa_release_mbid`,
`artists[].artist_credit_name`), the endpoints `GET /1/user/<user>/playing-now` (one listen
at most, no `listened_at`) and `GET /1/user/<user>/listens` (newest first, `listened_at` in
seconds) (https://listenbrainz.readthedocs.io/en/latest/users/api/core.html), and the Cover
Art Archive's thumbnail URLs `/release/<mbid>/(<id>|front)-(250|500|1200)`
(https://musicbrainz.org/doc/Cover_Art_Archive/API).

What must stay true: art only from a release MBID (validated, so no URL can be injected);
only a playing-now listen is `isPlaying`; no position is ever invented.
"""

from __future__ import annotations

import re
from typing import Any

from poller.providers.lastfm.normalize import iso_from_seconds, mbid
from shared.document import Image, Song

CAA = "https://coverartarchive.org"
CAA_SIZES = (500, 250)
_SPOTIFY_TRACK = re.compile(r"^https?://open\.spotify\.com/track/([A-Za-z0-9]{22})(?:[?#].*)?$")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def listens(payload: object) -> list[dict[str, Any]]:
    """`payload.listens` of either endpoint."""
    raw = _dict(_dict(payload).get("payload")).get("listens")
    return [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []


def cover_art(mapping: dict[str, Any], info: dict[str, Any]) -> list[Image]:
    """Cover Art Archive thumbnails of the release the art belongs to, largest first."""
    release = (
        mbid(mapping.get("caa_release_mbid"))
        or mbid(mapping.get("release_mbid"))
        or mbid(info.get("release_mbid"))
    )
    if release is None:
        return []
    caa_id = mapping.get("caa_id")
    has_id = isinstance(caa_id, int) and not isinstance(caa_id, bool) and caa_id > 0
    image = str(caa_id) if has_id and mbid(mapping.get("caa_release_mbid")) else "front"
    return [
        {"url": f"{CAA}/release/{release}/{image}-{size}.jpg", "width": size, "height": size}
        for size in CAA_SIZES
    ]


def spotify_url(info: dict[str, Any], mapping: dict[str, Any]) -> str | None:
    """The Spotify track, when the listen names one (`spotify_id`, `origin_url`, url_rels)."""
    candidates = [info.get("spotify_id"), info.get("origin_url")]
    candidates += [_dict(rel).get("url") for rel in mapping.get("url_rels") or []]
    for value in candidates:
        match = _SPOTIFY_TRACK.match(value) if isinstance(value, str) else None
        if match:
            return f"https://open.spotify.com/track/{match.group(1)}"
    return None


def _duration_ms(info: dict[str, Any]) -> int | None:
    for key, factor in (("duration_ms", 1), ("duration", 1000)):
        value = info.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return int(value * factor)
    return None


def normalize_listen(listen: object, *, playing_now: bool) -> Song | None:
    """One listen as a song: `current` and playing for playing-now, else `recent`."""
    item = _dict(listen)
    meta = _dict(item.get("track_metadata"))
    name = _str(meta.get("track_name"))
    if name is None:
        return None
    info = _dict(meta.get("additional_info"))
    mapping = _dict(meta.get("mbid_mapping"))
    credited = [
        str(a["artist_credit_name"])
        for a in mapping.get("artists") or []
        if isinstance(a, dict) and _str(a.get("artist_credit_name"))
    ]
    artist = _str(meta.get("artist_name"))
    recording = mbid(mapping.get("recording_mbid")) or mbid(info.get("recording_mbid"))
    art = cover_art(mapping, info)
    played_at: str | None = None
    if not playing_now:
        listened = item.get("listened_at")
        if isinstance(listened, int) and not isinstance(listened, bool) and listened > 0:
            played_at = iso_from_seconds(listened)
    return {
        "isPlaying": playing_now,
        "source": "current" if playing_now else "recent",
        "type": "track",
        "id": recording,
        "name": name,
        "artists": credited or ([artist] if artist else []),
        "album": _str(meta.get("release_name")) or "",
        "albumImageUrl": art[0]["url"] if art else None,
        "images": art,
        "spotifyUrl": spotify_url(info, mapping),
        "previewUrl": None,
        "durationMs": _duration_ms(info),
        "progressMs": None,
        "progressAt": None,
        "playedAt": played_at,
        "explicit": None,
        "provider": "listenbrainz",
        "url": f"https://musicbrainz.org/recording/{recording}" if recording else None,
    }


def normalize_playing_now(payload: object) -> Song | None:
    """The body of `/playing-now`: a playing song, or None when nothing plays."""
    for listen in listens(payload):
        song = normalize_listen(listen, playing_now=True)
        if song is not None:
            return song
    return None


def _listened_at(listen: dict[str, Any]) -> int:
    value = listen.get("listened_at")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def normalize_listens(payload: object) -> Song | None:
    """The body of `/listens`: the newest listen as a `recent` song."""
    items = listens(payload)
    items.sort(key=_listened_at)
    for listen in reversed(items):
        song = normalize_listen(listen, playing_now=False)
        if song is not None:
            return song
    return None
