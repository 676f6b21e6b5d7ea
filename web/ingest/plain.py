"""`POST /api/ingest`: the instance's own plain JSON shape, into a Submission. Pure.

`{"name", "artists": [...], "album"?, "durationMs"?, "progressMs"?, "isPlaying"?: true,
"url"?, "imageUrl"? (https), "type"?: "track" or "episode"}`; `{"isPlaying": false}` alone
pauses the pushed item (`{"isPlaying": true}` alone resumes it), `{"clear": true}` ends it.
Unknown keys are ignored, so a script may send more. A `url` that is not an http(s) URL
or an `imageUrl` that is not an https one is a 400 naming it (the sender can fix it); an
https `imageUrl` on a host the art policy does not fetch from is dropped.
"""

from __future__ import annotations

from shared.document import SongType
from shared.pushed import cleared, make_song, now_playing, paused, resumed
from web.ingest import fields
from web.ingest.listenbrainz import parse_body
from web.ingest.submission import Malformed, Submission

SONG_KEYS = ("name", "artists", "album", "durationMs", "progressMs", "url", "imageUrl", "type")


def parse_plain(raw: bytes, allowed: fields.ImageCheck) -> Submission:
    data = parse_body(raw)
    clear = fields.flag(data, "clear", "clear")
    playing = fields.flag(data, "isPlaying", "isPlaying")
    if clear:
        return Submission("ingest clear", lambda prev, at: cleared(prev))
    if not any(k in data for k in SONG_KEYS):
        if playing is False:
            return Submission("ingest pause", paused)
        if playing is True:
            return Submission("ingest resume", resumed)
        raise Malformed("name is required (or isPlaying: false to pause, clear: true to end)")
    name = fields.text(data, "name", "name")
    if name is None:
        raise Malformed("name is required and must be a non-empty string")
    if "artists" not in data:
        raise Malformed("artists is required (a list of strings)")
    kind = data.get("type", "track")
    if kind not in ("track", "episode"):
        raise Malformed('type must be "track" or "episode"')
    song_type: SongType = "episode" if kind == "episode" else "track"
    song = make_song(
        name=name,
        artists=fields.artists(data["artists"], "artists"),
        album=fields.text(data, "album", "album") or "",
        type=song_type,
        # 0, as Web Scrobbler's, is a duration nobody knows: not an item over on arrival
        duration_ms=fields.number_ms(data, "durationMs", "durationMs") or None,
        images=fields.https_image(data, "imageUrl", "imageUrl", allowed),
        url=fields.required_url(data, "url", "url"),
    )
    position = fields.number_ms(data, "progressMs", "progressMs")
    is_playing = playing is not False
    return Submission(
        "ingest " + ("playing" if is_playing else "paused"),
        lambda prev, at: now_playing(prev, song, at, position_ms=position, playing=is_playing),
    )
