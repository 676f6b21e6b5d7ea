"""The simulated Spotify as a Starlette app: accounts service, Web API, art, and controls.

It answers like the real service where a client's correctness depends on it: Basic client
auth, PKCE, refresh-token rotation, `invalid_grant`, 401 for an expired access token, 429
with Retry-After (and a QUOTA_EXCEEDED body), 204 when nothing plays, a null item for an
episode asked without `additional_types=episode`, ads and local files. The `/_sim/*`
routes let tests and demos steer the player and inject faults; it records every call so
tests can assert call counts, including calls made inside a Retry-After window.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import math
import re
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from nowplaying.simulator import inputs
from nowplaying.simulator.art import catalog_png
from nowplaying.simulator.player import ART_COLORS, Player

DEFAULT_CLIENT_ID = "sim-client-id"
DEFAULT_CLIENT_SECRET = "sim-client-secret"
DEFAULT_REFRESH_TOKEN = "sim-refresh-token"
SCOPES = "user-read-currently-playing user-read-recently-played"


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Fault:
    endpoint: str  # "token", "currently-playing", "recently-played" or "any"
    status: int = 500
    times: int = 1
    retry_after: int | None = None
    delay_s: float = 0.0
    malformed: bool = False
    error: str | None = None  # an OAuth error code for the token endpoint
    message: str | None = None  # the Web API error message, e.g. Development Mode's 403 texts
    reason: str | None = None  # a 429's body reason, e.g. "QUOTA_EXCEEDED"; None: rate limit


@dataclass
class Quota:
    """Development Mode's daily quota: at most `limit` calls (every endpoint) in any
    rolling `window_s`; past it, 429 QUOTA_EXCEEDED with Retry-After to when the window
    frees a call. `limit` None: no quota (the default, and `nowplaying run`'s demo)."""

    limit: int | None
    window_s: int = 86_400
    calls: deque[int] = field(default_factory=deque)
    refused: int = 0

    def admit(self, now: int) -> int | None:
        """Record a call and return None, or refuse it: the Retry-After in seconds."""
        if self.limit is None:
            return None
        while self.calls and self.calls[0] <= now - self.window_s * 1000:
            self.calls.popleft()
        if len(self.calls) < self.limit:
            self.calls.append(now)
            return None
        self.refused += 1
        return max(1, math.ceil((self.calls[0] + self.window_s * 1000 - now) / 1000))


@dataclass
class SimState:
    """Everything the simulated service remembers; one per app."""

    player: Player
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    redirect_uris: set[str] | None = None  # None: any loopback-IP URI is registered
    rotation: bool = False
    token_lifetime_s: int = 3600
    consent: str = "approve"
    refresh_tokens: dict[str, bool] = field(default_factory=dict)  # token -> valid
    access_tokens: dict[str, int] = field(default_factory=dict)  # token -> expires at ms
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    blocked_until_ms: int = 0
    calls_while_blocked: int = 0
    last_client_auth: str | None = None
    forbidden: str | None = None  # set: every Web API call answers 403 with this text/plain body
    clock: Callable[[], int] = now_ms
    quota: Quota = field(default_factory=lambda: Quota(None))

    def count(self, endpoint: str, status: int) -> None:
        self.calls[f"{endpoint} {status}"] += 1
        self.calls[endpoint] += 1

    def take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint in (endpoint, "any") and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"status": status, "message": message, **extra}}, status)


def _oauth_error(code: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status)


async def _apply_fault(state: SimState, endpoint: str) -> Response | None:
    fault = state.take_fault(endpoint)
    if fault is None:
        return None
    if fault.delay_s:
        await asyncio.sleep(fault.delay_s)
    if fault.malformed:
        return Response(b'{"is_playing": tru', 200, media_type="application/json")
    if fault.status == 429:
        retry = fault.retry_after
        state.blocked_until_ms = state.clock() + (retry if retry is not None else 30) * 1000
        return too_many(retry, fault.reason)
    if endpoint == "token" and fault.error:
        return _oauth_error(fault.error, "Injected fault", fault.status)
    if fault.status == 401:
        return _error(401, "The access token expired")
    if fault.status < 400:
        return None  # a pure delay
    return _error(fault.status, fault.message or "Injected fault")


def too_many(retry_after: int | None, reason: str | None) -> JSONResponse:
    """Spotify's 429: the rate limit says no reason, the daily quota says QUOTA_EXCEEDED."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    error: dict[str, Any] = {"status": 429, "message": "Too many requests"}
    if reason:
        error["reason"] = reason
    return JSONResponse({"error": error}, 429, headers=headers)


def _client_from(request: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        return user, password
    return form.get("client_id"), form.get("client_secret")


def _registered(state: SimState, uri: str) -> bool:
    if state.redirect_uris is not None:
        return uri in state.redirect_uris
    # Never an open redirect: no https wildcard, only this machine's loopback addresses.
    return bool(re.match(r"^http://(127\.0\.0\.1|\[::1\])(:\d{1,5})?/", uri))


def build_app(state: SimState) -> Starlette:
    """The simulator around `state`, so tests and `nowplaying run` can hold on to it."""

    async def guarded(request: Request, endpoint: str) -> Response | None:
        """Record the call; a fault or an auth failure answers instead of the endpoint."""
        if state.clock() < state.blocked_until_ms:
            state.calls_while_blocked += 1
        retry = state.quota.admit(state.clock())
        if retry is not None:
            state.blocked_until_ms = max(state.blocked_until_ms, state.clock() + retry * 1000)
            return too_many(retry, "QUOTA_EXCEEDED")
        response = await _apply_fault(state, endpoint)
        if response is not None:
            return response
        if endpoint == "token":
            return None
        header = request.headers.get("authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        expires = state.access_tokens.get(token)
        if not token or expires is None:
            return _error(401, "Invalid access token")
        if expires <= state.clock():
            return _error(401, "The access token expired")
        if state.forbidden is not None:  # Development Mode's 403s are plain text, not JSON
            return PlainTextResponse(state.forbidden, 403)
        return None

    def respond(endpoint: str, response: Response) -> Response:
        state.count(endpoint, response.status_code)
        return response

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != state.client_id:
            return HTMLResponse("<h1>INVALID_CLIENT: Invalid client</h1>", 400)
        redirect_uri = q.get("redirect_uri", "")
        if not _registered(state, redirect_uri):
            return HTMLResponse("<h1>INVALID_CLIENT: Invalid redirect URI</h1>", 400)
        if q.get("response_type") != "code":
            return HTMLResponse("<h1>unsupported_response_type</h1>", 400)
        method = q.get("code_challenge_method")
        challenge = q.get("code_challenge")
        if challenge and method != "S256":
            return HTMLResponse("<h1>invalid_request: code_challenge_method</h1>", 400)
        params: dict[str, str] = {}
        if state.consent == "deny":
            params["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            state.codes[code] = {
                "redirect_uri": redirect_uri,
                "challenge": challenge,
                "expires": state.clock() + 600_000,
            }
            params["code"] = code
        if "state" in q:
            params["state"] = q["state"]
        return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", 302)

    def issue(refresh: str | None) -> JSONResponse:
        access = "sim-at-" + secrets.token_urlsafe(24)
        state.access_tokens[access] = state.clock() + state.token_lifetime_s * 1000
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": state.token_lifetime_s,
            "scope": SCOPES,
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return JSONResponse(body)

    async def token(request: Request) -> Response:
        blocked = await guarded(request, "token")
        if blocked is not None:
            return respond("token", blocked)
        form = dict(parse_qsl((await inputs.read_body(request)).decode("utf-8", "replace")))
        client_id, client_secret = _client_from(request, form)
        state.last_client_auth = "basic" if "authorization" in request.headers else "body"
        grant = form.get("grant_type")
        if client_id != state.client_id:
            return respond("token", _oauth_error("invalid_client", "Invalid client"))
        if grant == "authorization_code":
            record = state.codes.pop(form.get("code", ""), None)
            if record is None or record["expires"] < state.clock():
                return respond("token", _oauth_error("invalid_grant", "Invalid authorization code"))
            if form.get("redirect_uri") != record["redirect_uri"]:
                return respond("token", _oauth_error("invalid_grant", "Invalid redirect URI"))
            if record["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if not verifier or expected != record["challenge"]:
                    bad = _oauth_error("invalid_grant", "code_verifier was incorrect")
                    return respond("token", bad)
            elif client_secret != state.client_secret:
                return respond("token", _oauth_error("invalid_client", "Invalid client secret"))
            if client_secret is not None and client_secret != state.client_secret:
                return respond("token", _oauth_error("invalid_client", "Invalid client secret"))
            refresh = "sim-rt-" + secrets.token_urlsafe(24)
            state.refresh_tokens[refresh] = True
            return respond("token", issue(refresh))
        if grant == "refresh_token":
            if client_secret != state.client_secret:
                return respond("token", _oauth_error("invalid_client", "Invalid client secret"))
            old = form.get("refresh_token", "")
            if not state.refresh_tokens.get(old):
                return respond("token", _oauth_error("invalid_grant", "Refresh token revoked"))
            if not state.rotation:
                return respond("token", issue(None))
            state.refresh_tokens[old] = False
            new = "sim-rt-" + secrets.token_urlsafe(24)
            state.refresh_tokens[new] = True
            return respond("token", issue(new))
        return respond("token", _oauth_error("unsupported_grant_type", f"grant_type: {grant}"))

    async def currently_playing(request: Request) -> Response:
        blocked = await guarded(request, "currently-playing")
        if blocked is not None:
            return respond("currently-playing", blocked)
        types = set(request.query_params.get("additional_types", "track").split(","))
        body = state.player.currently_playing(state.clock(), types)
        if body is None:
            return respond("currently-playing", Response(status_code=204))
        return respond("currently-playing", JSONResponse(body))

    async def recently_played(request: Request) -> Response:
        blocked = await guarded(request, "recently-played")
        if blocked is not None:
            return respond("recently-played", blocked)
        raw = request.query_params.get("limit", "20")
        if not raw.isdigit() or not 1 <= int(raw) <= 50:
            return respond("recently-played", _error(400, "Invalid limit"))
        body = state.player.recently_played(state.clock(), int(raw))
        return respond("recently-played", JSONResponse(body))

    async def art(request: Request) -> Response:
        png = catalog_png(request.path_params["name"], ART_COLORS)
        if png is None:
            return Response("not found", 404)
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(png, media_type="image/png", headers=headers)

    # -- controls for tests and demos ------------------------------------------------------

    def snapshot() -> dict[str, Any]:
        p = state.player
        p.advance(state.clock())
        return {
            "mode": p.mode,
            "index": p.index,
            "positionMs": p.position_ms,
            "item": p.items[p.index].name,
            "durationMs": p.items[p.index].duration_ms,
            "calls": dict(state.calls),
            "callsWhileBlocked": state.calls_while_blocked,
            "faults": len(state.faults),
            "quota": {
                "limit": state.quota.limit,
                "window": state.quota.window_s,
                "used": len(state.quota.calls),
                "refused": state.quota.refused,
            },
        }

    async def control_state(request: Request) -> Response:
        if request.method == "POST":
            body = await inputs.read_json(request)
            state.player.set_state(
                state.clock(),
                mode=inputs.choice(body, "mode", inputs.MODES),  # type: ignore[arg-type]
                index=inputs.integer(body, "index", 0, len(state.player.items) - 1),
                position_ms=inputs.integer(body, "positionMs", 0, 10**9),
            )
        return JSONResponse(snapshot())

    async def control_skip(request: Request) -> Response:
        state.player.skip(state.clock())
        return JSONResponse(snapshot())

    async def control_faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
            return JSONResponse(snapshot())
        body = await inputs.read_json(request)
        for fault in inputs.fault_list(body, len(state.faults)):
            state.faults.append(Fault(**fault))
        return JSONResponse(snapshot())

    async def control_config(request: Request) -> Response:
        body = await inputs.read_json(request)
        rotation = inputs.flag(body, "rotation")
        lifetime = inputs.integer(body, "tokenLifetime", 1, 86_400)
        consent = inputs.choice(body, "consent", inputs.CONSENTS)
        uris = inputs.text_list(body, "redirectUris", 16, 512)
        issued = inputs.text(body, "issueRefreshToken", 256)
        revoke, expire = inputs.flag(body, "revoke"), inputs.flag(body, "expireAccessTokens")
        reset = inputs.flag(body, "resetCalls")
        if rotation is not None:
            state.rotation = rotation
        if lifetime is not None:
            state.token_lifetime_s = lifetime
        if consent is not None:
            state.consent = consent
        if "forbidden" in body:  # a Development Mode 403 message for every Web API call
            state.forbidden = (
                None if body["forbidden"] is None else inputs.text(body, "forbidden", 256)
            )
        if "redirectUris" in body:
            state.redirect_uris = None if uris is None else set(uris)
        if revoke:
            for token in state.refresh_tokens:
                state.refresh_tokens[token] = False
        if expire:
            for token in state.access_tokens:
                state.access_tokens[token] = 0
        if issued is not None:
            state.refresh_tokens[issued] = True
        quota = inputs.quota(body)
        if quota is not None:
            state.quota = Quota(*quota)
        if reset:
            state.calls.clear()
            state.calls_while_blocked = 0
        return JSONResponse(snapshot())

    async def bad_input(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, inputs.BadInput)
        return JSONResponse({"error": {"status": exc.status, "message": str(exc)}}, exc.status)

    app = Starlette(
        exception_handlers={inputs.BadInput: bad_input},
        routes=[
            Route("/authorize", authorize),
            Route("/api/token", token, methods=["POST"]),
            Route("/v1/me/player/currently-playing", currently_playing),
            Route("/v1/me/player/recently-played", recently_played),
            Route("/art/{name}", art),
            Route("/_sim/state", control_state, methods=["GET", "POST"]),
            Route("/_sim/skip", control_skip, methods=["POST"]),
            Route("/_sim/faults", control_faults, methods=["POST", "DELETE"]),
            Route("/_sim/config", control_config, methods=["POST"]),
        ],
    )
    app.state.sim = state
    return app


def new_state(public_url: str, *, clock: Callable[[], int] = now_ms) -> SimState:
    """A fresh simulator whose art is served under `public_url` and whose player is running."""
    player = Player(art_base=f"{public_url.rstrip('/')}/art")
    player.start(clock())
    # A little history, so the recently-played fallback has something from the start.
    player.history.append((1, clock() - 600_000))
    player.history.append((0, clock() - 300_000))
    state = SimState(player=player, clock=clock)
    state.refresh_tokens[DEFAULT_REFRESH_TOKEN] = True
    return state
