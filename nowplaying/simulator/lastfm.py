"""The simulated Last.fm `user.getRecentTracks` (JSON), shaped after Last.fm's documented
examples (https://www.last.fm/api/show/user.getRecentTracks,
https://lastfm-docs.github.io/api-docs/user/getRecentTracks): errors as
`{"error": N, "message": ...}` with the HTTP statuses the examples show, images small to
extralarge with an empty `#text` when a track has no art, now-playing with `@attr`.
As recorded answers show (nicotine-plus/nicotine-plus issue #1574, rmmh/skybot PR #18):
the image sizes are small 34, medium 64, large 174 and extralarge 300 px (Last.fm's
`/i/u/34s/`, `64s`, `174s`, `300x300` paths), and `recenttracks.track` is one object, not a
list, when the answer holds a single track.
Mount it at `/lastfm/2.0/`; `/_sim/faults` injects faults.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nowplaying.simulator.player import Item
from nowplaying.simulator.scrobble import ScrobbleSim, pause, recording_mbid, release_mbid

ERRORS = {
    "bad_key": (403, 10, "Invalid API key - You must be granted a valid key by last.fm"),
    "unknown_user": (404, 6, "User not found"),
    "private": (403, 17, "Login: User required to be logged in"),
    "rate_limit": (429, 29, "Rate Limit Exceeded"),
    "5xx": (503, 16, "There was a temporary error processing your request. Please try again"),
}


def _error(kind: str) -> JSONResponse:
    status, code, message = ERRORS[kind]
    return JSONResponse({"error": code, "message": message}, status)


def track_json(sim: ScrobbleSim, item: Item) -> dict[str, Any]:
    artist = " & ".join(item.artists)
    sizes = (("small", 34), ("medium", 64), ("large", 174), ("extralarge", 300))
    return {
        "artist": {"mbid": "", "#text": artist},
        "streamable": "0",
        "image": [
            {"size": name, "#text": sim.player.art_url(item, px) or ""} for name, px in sizes
        ],
        "mbid": recording_mbid(item) or "",
        "album": {"mbid": release_mbid(item) or "", "#text": item.album},
        "name": item.name,
        "url": f"https://www.last.fm/music/{quote_plus(artist or '[unknown]')}/_/"
        + quote_plus(item.name),
    }


def build_lastfm_app(sim: ScrobbleSim) -> Starlette:
    async def api(request: Request) -> Response:
        q = request.query_params
        sim.calls["recenttracks"] += 1
        fault = sim.take_fault()
        await pause(fault)
        if fault is not None and fault.kind == "malformed":
            return Response(b'{"recenttracks": {"track": [', 200, media_type="application/json")
        if fault is not None and fault.kind in ERRORS:
            return _error(fault.kind)
        if q.get("method", "").lower() != "user.getrecenttracks" or q.get("format") != "json":
            return JSONResponse({"error": 3, "message": "Invalid Method"}, 400)
        if q.get("api_key") != sim.api_key:
            return _error("bad_key")
        if q.get("user", "").lower() != sim.user.lower():
            return _error("unknown_user")
        raw = q.get("limit", "50")
        limit = int(raw) if raw.isdigit() and 1 <= int(raw) <= 1000 else 50
        tracks: list[dict[str, Any]] = []
        playing = sim.now_playing()
        if playing is not None:  # "One track is added when the user is currently listening."
            tracks.append(track_json(sim, playing) | {"@attr": {"nowplaying": "true"}})
        for item, uts in sim.scrobbles(limit):
            when = datetime.fromtimestamp(uts, UTC).strftime("%d %b %Y, %H:%M")
            tracks.append(track_json(sim, item) | {"date": {"uts": str(uts), "#text": when}})
        total = len(sim.player.history)
        attr = {"user": sim.user, "page": "1", "perPage": str(limit), "total": str(total)}
        attr["totalPages"] = str(max(1, -(-total // limit)))
        one: Any = tracks[0] if len(tracks) == 1 else tracks  # Last.fm's single-item quirk
        return JSONResponse({"recenttracks": {"track": one, "@attr": attr}})

    async def faults(request: Request) -> Response:
        return JSONResponse(await sim.control(request))

    app = Starlette(
        routes=[
            Route("/", api),
            Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
        ]
    )
    app.state.sim = sim
    return app
