"""`POST /1/submit-listens` as ListenBrainz validates it, into a Submission. Pure.

The checks and their messages follow ListenBrainz's own server
(listenbrainz-server `listenbrainz/webserver/views/api.py` `submit_listen` and
`api_tools.py` `validate_listen`, `validate_basic_metadata`, `validate_duration_field`,
`validate_single_mbid_field`, `validate_listened_at`), so a client that works against
listenbrainz.org gets the same answers here: `listened_at` required for `single` and
`import` (an int, or a string or float that converts), forbidden for `playing_now`; one
listen for `single`/`playing_now`, up to 1000 for `import`; `track_name` and `artist_name`
non-empty strings; `duration` (s) or `duration_ms`, not both; empty or null mbids dropped,
malformed ones refused; a NUL anywhere refused. What real clients send besides
(`spotify_id`, `origin_url`, `music_service`, `submission_client`, `tracknumber`, `isrc`,
`artist_names`, ...) is accepted and only what the card shows is kept.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from functools import reduce
from typing import Any

from shared.document import Image, Song
from shared.pushed import ARTISTS_LIMIT, URL_LIMIT, cut, listened, make_song, now_playing
from web.ingest.submission import Malformed, Submission

LISTEN_TYPES = ("playing_now", "single", "import")
MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240
MAX_TAGS_PER_LISTEN = 50
MAX_TAG_SIZE = 64
MAX_DURATION_S = 24 * 24 * 60 * 60
LISTEN_MINIMUM_TS = 1033410600
ALLOWED_SKEW_S = 60 * 60
CAA = "https://coverartarchive.org"
_SPOTIFY_TRACK = re.compile(
    r"^(?:https?://open\.spotify\.com/track/|spotify:track:)([A-Za-z0-9]{22})(?:[?#].*)?$"
)


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise Malformed(f"Cannot parse JSON document: {exc}") from None
    if not isinstance(data, dict):
        raise Malformed(
            "Invalid JSON document submitted. Top level of JSON document should be a json object."
        )
    return data


def parse_submission(raw: bytes, now_s: float | None = None) -> Submission:
    """The whole request body, validated as ListenBrainz does, or Malformed."""
    data = parse_body(raw)
    if "payload" not in data:
        raise Malformed("Invalid JSON document submitted: the key payload is missing.")
    payload = data["payload"]
    if not isinstance(payload, list):
        raise Malformed("The payload in the JSON document should be a list of listens.")
    if len(payload) == 0:
        raise Malformed("JSON document does not contain any listens (payload is empty).")
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise Malformed(
            f"Too many listens. You may not submit more than {MAX_LISTENS_PER_REQUEST} "
            "listens at once (payload)."
        )
    if len(raw) > len(payload) * MAX_LISTEN_SIZE:
        raise Malformed(
            "JSON document is too large. Each listens may not be larger than "
            f"{MAX_LISTEN_SIZE} bytes (payload)."
        )
    listen_type = data.get("listen_type")
    if listen_type not in LISTEN_TYPES:
        raise Malformed("JSON document requires a valid listen_type key.")
    if listen_type != "import" and len(payload) > 1:
        raise Malformed(
            "JSON document contains more than listen for a single/playing_now. "
            "It should contain only one (payload)."
        )
    now = time.time() if now_s is None else now_s
    listens = [validate_listen(listen, listen_type, now, i) for i, listen in enumerate(payload)]
    if listen_type == "playing_now":
        song = listens[0][0]
        return Submission("listenbrainz playing_now", lambda prev, at: now_playing(prev, song, at))
    ordered = sorted(listens, key=lambda pair: pair[1])

    def apply(previous: Any, at: int) -> Any:
        return reduce(lambda rec, pair: listened(rec, pair[0], pair[1] * 1000), ordered, previous)

    return Submission(f"listenbrainz {listen_type}", apply, len(ordered))


def validate_listen(listen: object, listen_type: str, now_s: float, index: int) -> tuple[Song, int]:
    """One listen as a pushed song and its `listened_at` (s; 0 for playing_now)."""
    if not isinstance(listen, dict) or not listen:
        raise Malformed(f"Listen is empty and cannot be validated (payload[{index}]).")
    # Clients built on serializers that write absent fields as null (Pano Scrobbler's
    # kotlinx data classes) send `"listened_at": null` on playing_now: taken as absent.
    listen = {k: v for k, v in listen.items() if v is not None}
    listened_at = 0
    if listen_type == "playing_now":
        if "listened_at" in listen:
            raise Malformed(
                "JSON document must not contain listened_at while submitting playing_now."
            )
        _need_track_metadata(listen)
        if len(listen) > 1:
            raise Malformed(
                "JSON document may only contain track_metadata as top level key when "
                "submitting playing_now."
            )
    else:
        listened_at = validate_listened_at(listen, now_s)
        _need_track_metadata(listen)
        if len(listen) > 2:
            raise Malformed(
                "JSON document may only contain listened_at and track_metadata top level keys"
            )
    meta = listen["track_metadata"]
    if not isinstance(meta, dict):
        raise Malformed("JSON document may not have track_metadata with null value.")
    _no_nul(meta, "track_metadata")
    return song_of(meta), listened_at


def _need_track_metadata(listen: dict[str, Any]) -> None:
    if "track_metadata" not in listen:
        raise Malformed("JSON document must contain the key track_metadata at the top level.")


def _no_nul(value: object, field: str) -> None:
    """ListenBrainz's refusal of a NUL anywhere in the metadata, naming where it is."""
    if isinstance(value, str) and "\x00" in value:
        raise Malformed(f"{field}: {value!r} contains a unicode null")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nul(item, f"{field}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_nul(item, f"{field}[{i}]")


def validate_listened_at(listen: dict[str, Any], now_s: float) -> int:
    if "listened_at" not in listen:
        raise Malformed("JSON document must contain the key listened_at at the top level.")
    raw = listen["listened_at"]
    try:
        if isinstance(raw, bool) or raw is None:
            raise TypeError
        value = int(raw)
    except (ValueError, TypeError, OverflowError):
        raise Malformed("JSON document must contain an int value for listened_at.") from None
    if value >= int(now_s) + ALLOWED_SKEW_S:
        raise Malformed("Value for key listened_at is too high.")
    if value < LISTEN_MINIMUM_TS:
        raise Malformed(
            "Value for key listened_at is too low. listened_at timestamp should be greater "
            "than 1033410600 (2002-10-01 00:00:00 UTC)."
        )
    return value


def basic(meta: dict[str, Any], key: str, required: bool = True) -> str:
    if key not in meta:
        if required:
            raise Malformed(f"JSON document does not contain required field track_metadata.{key}.")
        return ""
    value = meta[key]
    if not isinstance(value, str):
        if not required and value is None:
            return ""
        raise Malformed(f"track_metadata.{key} must be a single string.")
    text = cut(value)
    if required and not text:
        raise Malformed(f"field track_metadata.{key} is empty.")
    return text


def song_of(meta: dict[str, Any]) -> Song:
    name = basic(meta, "track_name")
    artist = basic(meta, "artist_name")
    album = basic(meta, "release_name", required=False)
    info = meta.get("additional_info", {})
    if info is None:
        info = {}
    if not isinstance(info, dict):
        raise Malformed("track_metadata.additional_info must be a JSON object.")
    _tags(info)
    duration_ms = _duration_ms(info)
    release = _mbid(info, "release_mbid")
    recording = _mbid(info, "recording_mbid")
    for key in ("release_group_mbid", "track_mbid"):
        _mbid(info, key)
    for key in ("artist_mbids", "work_mbids"):
        _mbids(info, key)
    spotify = _spotify_url(info)
    return make_song(
        name=name,
        artists=_artist_names(info) or [artist],
        album=album,
        duration_ms=duration_ms,
        images=cover_art(release),
        url=_http_url(info.get("origin_url")) or spotify,
        spotify_url=spotify,
        id=recording,
    )


def _artist_names(info: dict[str, Any]) -> list[str]:
    """Navidrome and multi-scrobbler list the track's artists one by one in
    `additional_info.artist_names` (`artist_name` is the credit as one string)."""
    names = info.get("artist_names")
    if not isinstance(names, list):
        return []
    cleaned = [cut(n) for n in names[:ARTISTS_LIMIT] if isinstance(n, str)]
    return [n for n in cleaned if n]


def _tags(info: dict[str, Any]) -> None:
    tags = info.get("tags")
    if tags is None:
        return
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Malformed("track_metadata.additional_info.tags must be a list of strings.")
    if len(tags) > MAX_TAGS_PER_LISTEN:
        raise Malformed(
            f"JSON document may not contain more than {MAX_TAGS_PER_LISTEN} items in "
            "track_metadata.additional_info.tags."
        )
    if any(len(t) > MAX_TAG_SIZE for t in tags):
        raise Malformed(
            "JSON document may not contain track_metadata.additional_info.tags longer than "
            f"{MAX_TAG_SIZE} characters."
        )


def _duration_ms(info: dict[str, Any]) -> int | None:
    if "duration" in info and "duration_ms" in info:
        raise Malformed("JSON document should not contain both duration and duration_ms.")
    for key, factor, most in (
        ("duration", 1000, MAX_DURATION_S),
        ("duration_ms", 1, MAX_DURATION_S * 1000),
    ):
        if key not in info:
            continue
        raw = info[key]
        if raw is None:  # null: absent (see validate_listen)
            continue
        try:
            if isinstance(raw, bool) or raw is None:
                raise TypeError
            value = int(float(raw))
        except (ValueError, TypeError, OverflowError):
            raise Malformed(f"Value for {key} is invalid, should be a positive integer.") from None
        if value <= 0:
            raise Malformed(f"Value for {key} is invalid, should be a positive integer.")
        if value > most:
            raise Malformed(f"Value for {key} is too large, max permitted value is {most}")
        return value * factor
    return None


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _mbid(info: dict[str, Any], key: str) -> str | None:
    value = info.get(key)
    if not value:  # absent, null or "": dropped, as ListenBrainz drops it
        return None
    if not isinstance(value, str) or not _is_uuid(value):
        raise Malformed(f"{key} MBID format invalid.")
    return str(uuid.UUID(value))


def _mbids(info: dict[str, Any], key: str) -> None:
    values = info.get(key)
    if not values:
        return
    if not isinstance(values, list):
        raise Malformed(f"{key} MBID format invalid.")
    for value in values:
        if value and (not isinstance(value, str) or not _is_uuid(value)):
            raise Malformed(f"{key} MBID format invalid.")


def cover_art(release: str | None) -> list[Image]:
    """The Cover Art Archive's front thumbnails of the release, as the ListenBrainz
    normalizer builds them (only from a validated MBID: no URL is ever taken as given)."""
    if release is None:
        return []
    return [
        {"url": f"{CAA}/release/{release}/front-{size}.jpg", "width": size, "height": size}
        for size in (500, 250)
    ]


def _spotify_url(info: dict[str, Any]) -> str | None:
    for value in (info.get("spotify_id"), info.get("origin_url")):
        match = _SPOTIFY_TRACK.match(value) if isinstance(value, str) else None
        if match:
            return f"https://open.spotify.com/track/{match.group(1)}"
    return None


def _http_url(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > URL_LIMIT:
        return None
    return value if re.match(r"^https?://[^\s/]+", value) and value.isprintable() else None


def as_listen(song: Song, user: str) -> dict[str, Any]:
    """A pushed playing song as ListenBrainz's `/playing-now` lists it (`Listen.to_api`
    of a playing-now listen: `track_metadata`, `user_name`, `playing_now: true`)."""
    info: dict[str, Any] = {"submission_client": "nowplaying"}
    if song["durationMs"] is not None:
        info["duration_ms"] = song["durationMs"]
    if song["url"]:
        info["origin_url"] = song["url"]
    if song["spotifyUrl"]:
        info["spotify_id"] = song["spotifyUrl"]
    meta: dict[str, Any] = {
        "artist_name": ", ".join(song["artists"]),
        "track_name": song["name"],
        "additional_info": info,
    }
    if song["album"]:
        meta["release_name"] = song["album"]
    return {"track_metadata": meta, "user_name": user, "playing_now": True}
