"""`POST /api/ingest/webscrobbler`: Web Scrobbler's webhook, into a Submission. Pure.

The extension's webhook scrobbler (web-scrobbler `src/core/scrobbler/webhook-scrobbler.ts`)
POSTs `{"eventName", "time": ms, "data": {"song": <BaseSong as JSON>}}` with the events
`nowplaying`, `paused`, `resumedplaying`, `scrobble` (and `loved`, which says nothing about
what plays: accepted and ignored, as is any event it may add). The song's JSON
(`src/core/object/song.ts`) has `parsed` (what the site's connector read: `track`,
`artist`, `album`, `duration` in s, `currentTime` in s, `isPlaying`, `trackArt`,
`originUrl`, `isPodcast`), `processed` (after the user's edits and the extension's
cleaning: `track`, `artist`, `album`, `albumArtist`, `duration`) and `metadata`
(`startTimestamp` in s, `trackArtUrl`). Names come from `processed` over `parsed`, the
duration from `parsed` over `processed` (as the extension's `getDuration`), the art from
`parsed.trackArt` over `metadata.trackArtUrl` (as `getTrackArt`). The extension counts
only a 200 as success.
"""

from __future__ import annotations

from typing import Any

from shared.document import Song
from shared.pushed import listened, make_song, now_playing, paused, resumed, same_item
from web.ingest import fields
from web.ingest.listenbrainz import LISTEN_MINIMUM_TS, parse_body
from web.ingest.submission import Malformed, Submission

EVENTS = ("nowplaying", "paused", "resumedplaying", "scrobble")


def parse_webhook(raw: bytes, allowed: fields.ImageCheck) -> Submission:
    data = parse_body(raw)
    event = data.get("eventName")
    if not isinstance(event, str):
        raise Malformed("eventName must be a string")
    if event not in EVENTS:
        return Submission(f"webscrobbler {event[:20]!r} ignored", lambda prev, at: None, 0)
    song_json = fields.obj(fields.obj(data.get("data"), "data").get("song"), "data.song")
    if not song_json:
        raise Malformed("data.song is required")
    song, position, started_s = song_of(song_json, allowed)
    kind = f"webscrobbler {event}"
    if event == "nowplaying":
        return Submission(kind, lambda prev, at: now_playing(prev, song, at, position_ms=position))
    if event == "scrobble":
        return Submission(kind, lambda prev, at: listened(prev, song, played_at(started_s, at)))

    def change(previous: Any, at: int) -> Any:
        known = (
            previous is not None and previous.item is not None and same_item(previous.item, song)
        )
        if known:
            return (paused if event == "paused" else resumed)(previous, at)
        return now_playing(previous, song, at, position_ms=position, playing=event != "paused")

    return Submission(kind, change)


def played_at(started_s: int | None, received_ms: int) -> int:
    """When a scrobbled play started (ms): `metadata.startTimestamp`, unless it is absent,
    later than the scrobble's receipt or before ListenBrainz's earliest accepted time (the
    client's clock or a bug: a far-future one would stay "the latest play" for ever), then
    the receipt."""
    if started_s is None:
        return received_ms
    started_ms = started_s * 1000
    return started_ms if LISTEN_MINIMUM_TS * 1000 <= started_ms <= received_ms else received_ms


def song_of(
    song: dict[str, Any], allowed: fields.ImageCheck
) -> tuple[Song, int | None, int | None]:
    """The pushed song, its position (ms) and when it started (s), from the song JSON."""
    parsed = fields.obj(song.get("parsed"), "data.song.parsed")
    processed = fields.obj(song.get("processed"), "data.song.processed")
    metadata = fields.obj(song.get("metadata"), "data.song.metadata")

    def name(key: str) -> str | None:
        return fields.text(processed, key, f"data.song.processed.{key}") or fields.text(
            parsed, key, f"data.song.parsed.{key}"
        )

    track, artist = name("track"), name("artist")
    if track is None:
        raise Malformed("data.song.processed.track (or parsed.track) is required")
    if artist is None:
        raise Malformed("data.song.processed.artist (or parsed.artist) is required")
    duration = fields.number_ms(parsed, "duration", "data.song.parsed.duration", 1000) or (
        fields.number_ms(processed, "duration", "data.song.processed.duration", 1000)
    )
    images = fields.image(parsed, "trackArt", "data.song.parsed.trackArt", allowed) or (
        fields.image(metadata, "trackArtUrl", "data.song.metadata.trackArtUrl", allowed)
    )
    podcast = fields.flag(parsed, "isPodcast", "data.song.parsed.isPodcast")
    started = fields.number_ms(metadata, "startTimestamp", "data.song.metadata.startTimestamp")
    result = make_song(
        name=track,
        artists=[artist],
        album=name("album") or "",
        type="episode" if podcast else "track",
        duration_ms=duration or None,
        images=images,
        url=fields.url(parsed, "originUrl", "data.song.parsed.originUrl"),
    )
    position = fields.number_ms(parsed, "currentTime", "data.song.parsed.currentTime", 1000)
    return result, position, started
