"""The simulated Lanyard: `GET /v1/users/<id>`, shaped after Lanyard's README and source
(https://github.com/Phineas/lanyard: README "Getting a user's presence data",
lib/presence/presence.ex, lib/presence/spotify.ex, lib/api/util.ex).

The one simulated player drives it: a playing track is the presence's Spotify activity
(`listening_to_spotify: true`, `spotify` with `track_id`, `song`, `artist` joined by "; ",
`album`, `album_art_url`, `timestamps.start/end` in ms, and the raw type-2 activity in
`activities`); paused, stopped, an ad or an episode is no Spotify activity at all
(`spotify: null`), as Discord drops it. A local file has no `track_id`, `album_art_url` or
artist, as spotify.ex builds it. Any other user id is Lanyard's 404 `user_not_monitored`.
Faults as the other scrobbler simulators take them (`POST /_sim/faults`): `unknown_user`,
`rate_limit` (429 with `Retry-After`, plain text as the proxy in front of Lanyard answers),
`5xx` (Lanyard's own plain-text 500), `slow`, `malformed`. One deviation: `album_art_url`
points at the simulator's own art, not at i.scdn.co, so a local demo shows its covers.
Mount it at `/lanyard`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from nowplaying.simulator.player import Item, Player
from nowplaying.simulator.scrobble import ScrobbleSim, pause

USER_ID = "100000000000000001"  # a Discord snowflake of the simulated listener
SPOTIFY_ACTIVITY_ID = "spotify:1"  # the id Discord gives the Spotify activity


def new_lanyard(player: Player, clock: Callable[[], int]) -> ScrobbleSim:
    """The simulated Lanyard's state: the shared player, a Discord id as its user."""
    return ScrobbleSim(player, clock, user=USER_ID, api_key="")


def spotify_json(sim: ScrobbleSim, item: Item, now_ms: int) -> dict[str, Any]:
    """Lanyard's `data.spotify` for the item playing now (lib/presence/spotify.ex)."""
    start = now_ms - sim.player.position_ms
    art = sim.player.images(item)
    return {
        "track_id": item.id,
        "timestamps": {"start": start, "end": start + item.duration_ms},
        "song": item.name,
        "artist": "; ".join(item.artists) or None,
        "album_art_url": art[0]["url"] if art else None,
        "album": item.album or None,
    }


def activity_json(sim: ScrobbleSim, spotify: dict[str, Any]) -> dict[str, Any]:
    """Discord's raw Spotify activity (type 2, listening), as the README shows it."""
    activity: dict[str, Any] = {
        "type": 2,
        "timestamps": spotify["timestamps"],
        "name": "Spotify",
        "id": SPOTIFY_ACTIVITY_ID,
        "flags": 48,
        "details": spotify["song"],
        "created_at": spotify["timestamps"]["start"],
        "party": {"id": f"spotify:{sim.user}"},
    }
    if spotify["track_id"]:
        activity["sync_id"] = spotify["track_id"]
    if spotify["artist"]:
        activity["state"] = spotify["artist"]
    if spotify["album_art_url"]:
        activity["assets"] = {"large_text": spotify["album"], "large_image": "spotify:sim"}
    return activity


def presence_json(sim: ScrobbleSim) -> dict[str, Any]:
    """The `data` of a monitored user's answer."""
    now = sim.clock()
    item = sim.now_playing()
    spotify = spotify_json(sim, item, now) if item is not None else None
    return {
        "kv": {},
        "discord_user": {
            "id": sim.user,
            "username": "sim-user",
            "global_name": "Simulated Listener",
            "display_name": "Simulated Listener",
            "discriminator": "0",
            "public_flags": 0,
            "avatar": None,
            "bot": False,
        },
        "discord_status": "online",
        "active_on_discord_web": False,
        "active_on_discord_desktop": True,
        "active_on_discord_mobile": False,
        "active_on_discord_embedded": False,
        "active_on_discord_vr": False,
        "listening_to_spotify": spotify is not None,
        "spotify": spotify,
        "activities": [activity_json(sim, spotify)] if spotify is not None else [],
    }


def not_monitored() -> Response:
    error = {"code": "user_not_monitored", "message": "User is not being monitored by Lanyard"}
    return JSONResponse({"success": False, "error": error}, 404)


def build_lanyard_app(sim: ScrobbleSim) -> Starlette:
    async def user(request: Request) -> Response:
        sim.calls["users"] += 1
        fault = sim.take_fault()
        await pause(fault)
        if fault is not None and fault.kind == "rate_limit":
            wait = fault.retry_after_s if fault.retry_after_s is not None else 30
            return PlainTextResponse("Too Many Requests", 429, {"Retry-After": str(wait)})
        if fault is not None and fault.kind == "5xx":
            return PlainTextResponse("Internal Server Error", 500)
        if fault is not None and fault.kind == "malformed":
            return Response(b'{"success": true, "data": {', 200, media_type="application/json")
        unknown = fault is not None and fault.kind == "unknown_user"
        if unknown or request.path_params["id"] != sim.user:
            return not_monitored()
        return JSONResponse({"success": True, "data": presence_json(sim)})

    async def faults(request: Request) -> Response:
        return JSONResponse(await sim.control(request))

    async def not_found(request: Request) -> Response:
        error = {"code": "not_found", "message": "Route does not exist"}
        return JSONResponse({"success": False, "error": error}, 404)

    app = Starlette(
        routes=[
            Route("/v1/users/{id}", user),
            Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
            Route("/{path:path}", not_found),
        ]
    )
    app.state.sim = sim
    return app
