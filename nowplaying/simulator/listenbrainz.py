"""The simulated ListenBrainz: `GET /1/user/<user>/playing-now` and `/1/user/<user>/listens`,
shaped after its documentation (https://listenbrainz.readthedocs.io/en/latest/users/json.html,
.../users/api/core.html, .../users/api/index.html#rate-limiting): `X-RateLimit-*` headers on
every answer and 429 past the window, 404 `{"code", "error"}` for an unknown user, 401 for a
wrong token, listens newest first with `mbid_mapping` (release and cover art ids), and a
playing-now listen without `listened_at` or mapping. Listens look as a Spotify-listening
client submits them (json.html's additional_info fields, Web Scrobbler's
ListenBrainzTrackMeta): `duration` in seconds, `spotify_id` and `origin_url` as
open.spotify.com track URLs, `music_service` "spotify.com", MBIDs left empty; the server's
mapping of some recordings has no release (no `release_mbid`, no Cover Art Archive ids), and
a local file has no mapping at all. Mount it at `/listenbrainz`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nowplaying.simulator.player import Item
from nowplaying.simulator.scrobble import ScrobbleSim, pause, recording_mbid, release_mbid


@dataclass
class Window:
    """A fixed rate-limit window, as ListenBrainz describes its headers."""

    limit: int = 30
    seconds: int = 10
    started_ms: int = 0
    used: int = 0
    blocked: list[int] = field(default_factory=list)

    def take(self, now_ms: int) -> tuple[bool, dict[str, str]]:
        if now_ms - self.started_ms >= self.seconds * 1000:
            self.started_ms, self.used = now_ms, 0
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        reset_in = max(0, (self.started_ms + self.seconds * 1000 - now_ms + 999) // 1000)
        return allowed, self.headers(reset_in, now_ms)

    def headers(self, reset_in: int, now_ms: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset-In": str(reset_in),
            "X-RateLimit-Reset": str(now_ms // 1000 + reset_in),
        }


# Catalogue tracks MusicBrainz knows the recording of but not the release it was played from.
MAPPED_WITHOUT_RELEASE = frozenset({"3n3Ppam7vgaVa1iaRUc9Lp"})


def additional_info(item: Item) -> dict[str, Any]:
    """What a client submitting Spotify plays sends: seconds, the track's URL, empty MBIDs."""
    info: dict[str, Any] = {
        "duration": item.duration_ms // 1000,
        "submission_client": "nowplaying simulator",
        "submission_client_version": "1.0",
        "artist_mbids": [],
        "release_mbid": "",
        "recording_mbid": "",
    }
    if item.id:
        url = f"https://open.spotify.com/track/{item.id}"
        info |= {"spotify_id": url, "origin_url": url, "music_service": "spotify.com"}
    return info


def mapping(item: Item) -> dict[str, Any] | None:
    """The server's `mbid_mapping`: None for a local file, no release for some tracks."""
    recording, release = recording_mbid(item), release_mbid(item)
    if not (recording and release):
        return None
    found: dict[str, Any] = {
        "recording_mbid": recording,
        "recording_name": item.name,
        "artist_mbids": [],
        "artists": [
            {"artist_credit_name": a, "artist_mbid": "", "join_phrase": ""} for a in item.artists
        ],
    }
    if item.id in MAPPED_WITHOUT_RELEASE:
        return found
    return found | {
        "release_mbid": release,
        "caa_id": 1000 + sum(map(ord, item.album)),
        "caa_release_mbid": release,
    }


def listen_json(sim: ScrobbleSim, item: Item, listened_at: int | None) -> dict[str, Any]:
    info = additional_info(item)
    meta: dict[str, Any] = {
        "artist_name": ", ".join(item.artists),
        "track_name": item.name,
        "release_name": item.album or None,
        "additional_info": info,
    }
    if listened_at is None:
        return {"track_metadata": meta, "playing_now": True}
    found = mapping(item)
    if found is not None:
        meta["mbid_mapping"] = found
    return {
        "listened_at": listened_at,
        "inserted_at": listened_at,
        "user_name": sim.user,
        "track_metadata": meta,
    }


def build_listenbrainz_app(sim: ScrobbleSim, window: Window | None = None) -> Starlette:
    limits = window or Window()

    async def answer(request: Request, endpoint: str) -> Response:
        sim.calls[endpoint] += 1
        allowed, headers = limits.take(sim.clock())
        fault = sim.take_fault()
        await pause(fault)
        if not allowed or (fault is not None and fault.kind == "rate_limit"):
            if fault is not None and fault.retry_after_s is not None:
                headers["X-RateLimit-Reset-In"] = str(fault.retry_after_s)
            headers["X-RateLimit-Remaining"] = "0"
            body = {"code": 429, "error": "Too many requests. Please try again later."}
            return JSONResponse(body, 429, headers=headers)
        if fault is not None and fault.kind == "malformed":
            return Response(b'{"payload": {"listens": [', 200, headers=headers)
        if fault is not None and fault.kind == "5xx":
            return JSONResponse({"code": 503, "error": "Service unavailable"}, 503, headers=headers)
        auth = request.headers.get("authorization", "")
        bad_token = fault is not None and fault.kind in ("bad_token", "bad_key")
        if bad_token or (auth and (sim.token is None or auth != f"Token {sim.token}")):
            body = {"code": 401, "error": "Invalid authorization token."}
            return JSONResponse(body, 401, headers=headers)
        user = request.path_params["user"]
        if user.lower() != sim.user.lower() or (fault is not None and fault.kind == "unknown_user"):
            return JSONResponse(
                {"code": 404, "error": f"Cannot find user: {user}"}, 404, headers=headers
            )
        if endpoint == "playing-now":
            item = sim.now_playing()
            listens = [listen_json(sim, item, None)] if item else []
            payload: dict[str, Any] = {
                "count": len(listens),
                "user_id": sim.user,
                "playing_now": True,
            }
            return JSONResponse({"payload": payload | {"listens": listens}}, headers=headers)
        raw = request.query_params.get("count", "25")
        count = int(raw) if raw.isdigit() and 1 <= int(raw) <= 1000 else 25
        found = [listen_json(sim, item, at) for item, at in sim.scrobbles(count)]
        payload = {"count": len(found), "user_id": sim.user, "listens": found}
        if found:
            payload |= {
                "latest_listen_ts": found[0]["listened_at"],
                "oldest_listen_ts": found[-1]["listened_at"],
            }
        return JSONResponse({"payload": payload}, headers=headers)

    async def playing_now(request: Request) -> Response:
        return await answer(request, "playing-now")

    async def listens(request: Request) -> Response:
        return await answer(request, "listens")

    async def faults(request: Request) -> Response:
        return JSONResponse(await sim.control(request))

    app = Starlette(
        routes=[
            Route("/1/user/{user}/playing-now", playing_now),
            Route("/1/user/{user}/listens", listens),
            Route("/_sim/faults", faults, methods=["POST", "DELETE"]),
        ]
    )
    app.state.sim = sim
    return app
