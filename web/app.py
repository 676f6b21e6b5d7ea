"""The Starlette app: cached JSON, the SSE stream, widget, README card, health, metrics.

Every read is served from the hub's memory; Redis is touched only by the one
subscription, the poller watchdog, /readyz, /metrics and the setup routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from poller.service import Poller, token_days_left
from poller.spotify import InvalidClient, InvalidGrant, SpotifyError
from shared import oauth
from shared.config import Settings
from shared.logs import RedactingFilter
from shared.quota_store import QuotaStore
from shared.store import Store, fingerprint
from web.art import ArtCache
from web.cors import Cors
from web.demand import Demand
from web.follower import follow, watch_poller
from web.hot import HotRoutes, NowPlayingEndpoint
from web.hub import Hub
from web.metrics import Metrics, RequestCounter
from web.quota_metrics import budget_metrics
from web.sse import StreamEndpoint
from web.svg import render_card

log = logging.getLogger("nowplaying.web")
STATIC = Path(__file__).parent / "static"
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass
class WebRuntime:
    """Everything one web process owns: the only mutable state of the process."""

    settings: Settings
    store: Store
    demo: bool = False
    poller: Poller | None = None
    hub: Hub = field(init=False)
    metrics: Metrics = field(init=False)
    http: httpx.AsyncClient = field(init=False)
    art: ArtCache = field(init=False)
    demand: Demand = field(init=False)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hub = Hub(demo=self.demo)
        self.metrics = Metrics(self.hub)
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(3.0), follow_redirects=True)
        self.art = ArtCache(self.http)
        self.demand = Demand(QuotaStore(self.store), self.hub)

    async def fresh(self, max_wait: float = 0.0) -> None:
        """For one-shot views: ask for a poll when the last one is too old, and wait up
        to `max_wait` s for it (0: ask, do not wait). Never raises."""
        await self.demand.fresh(max_wait)

    def ask_fresh(self) -> None:
        """Ask without waiting, from code that cannot await (the hot JSON route)."""
        self.demand.ask()

    async def start(self) -> None:
        raw = None
        with contextlib.suppress(Exception):
            raw = await asyncio.wait_for(self.store.current_raw(), 2)
        if raw:
            self.hub.update(raw)
        self.tasks = [
            asyncio.create_task(follow(self.store, self.hub)),
            asyncio.create_task(
                watch_poller(self.store, self.hub, self.settings.stale_after_s, self.demo)
            ),
            asyncio.create_task(self.hub.run_timers(self.settings.sse_ping_interval)),
            asyncio.create_task(self.demand.run()),
        ]
        if self.poller is not None:
            await self.poller.start()

    async def stop(self) -> None:
        self.hub.close()
        if self.poller is not None:
            await self.poller.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.http.aclose()


async def spotify_budget(runtime: WebRuntime) -> dict[str, Any]:
    """`{"calls24h", "budget", "pausedUntil"}` from Redis; calls24h null when unreachable."""
    report: dict[str, Any] = {
        "calls24h": None,
        "budget": runtime.settings.daily_budget,
        "pausedUntil": None,
    }
    quota = runtime.demand.quota
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            now = int(time.time() * 1000)
            report["calls24h"] = await quota.calls_24h(now)
            pause = await quota.pause(now)
            report["pausedUntil"] = pause.until_ms if pause else None
    return report


def _page(title: str, body: str, status: int) -> HTMLResponse:
    text = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font-family:system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem'>"
        f"<h1>{html.escape(title)}</h1>{body}</body>"
    )
    return HTMLResponse(text, status, headers={"Cache-Control": "no-store"})


def protect_access_log(secrets: list[str]) -> None:
    """Redact at the access logger itself: its lines carry query strings (`?token=`,
    `?code=`) and reach every handler, not only ours."""
    access = logging.getLogger("uvicorn.access")
    for old in [f for f in access.filters if isinstance(f, RedactingFilter)]:
        access.removeFilter(old)
    access.addFilter(RedactingFilter(secrets))


def build_app(runtime: WebRuntime, extra_routes: list[BaseRoute] | None = None) -> ASGIApp:
    settings, hub, store = runtime.settings, runtime.hub, runtime.store
    protect_access_log(settings.secrets())
    index_html = (STATIC / "index.html").read_bytes()
    widget_js = (STATIC / "widget.js").read_bytes()

    async def index(request: Request) -> Response:
        return Response(index_html, media_type="text/html; charset=utf-8", headers=NO_CACHE)

    async def widget(request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
        return Response(widget_js, media_type="text/javascript; charset=utf-8", headers=headers)

    async def embed_svg(request: Request) -> Response:
        theme = request.query_params.get("theme", "light")
        if theme not in ("light", "dark"):
            return Response("theme must be 'light' or 'dark'\n", 400, media_type="text/plain")
        await runtime.fresh(max_wait=1.5)
        document = hub.document
        song = document["song"]
        art = await runtime.art.data_uri(song["albumImageUrl"] if song else None)
        svg = render_card(document, theme, art, int(time.time() * 1000))  # type: ignore[arg-type]
        headers = {"Cache-Control": "no-cache, max-age=0", "ETag": hub.etag}
        return Response(svg, media_type="image/svg+xml; charset=utf-8", headers=headers)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def readyz(request: Request) -> Response:
        report: dict[str, Any] = {"redis": "ok", "poller": "ok", "auth": "ok"}
        ready = True
        beat = None
        try:
            async with asyncio.timeout(1.5):
                await store.ping()
                beat = await store.heartbeat()
        except Exception as exc:
            report["redis"] = f"unreachable ({type(exc).__name__})"
            ready = False
        now = int(time.time() * 1000)
        if report["redis"] == "ok":
            age = (now - int(beat["at"])) / 1000 if beat and "at" in beat else None
            if age is None:
                report["poller"] = "no heartbeat: is the poller running?"
                ready = False
            elif age > settings.stale_after_s:
                report["poller"] = f"heartbeat {age:.0f} s old: the poller is down or stuck"
                ready = False
            else:
                report["pollerState"] = beat.get("state") if beat else None
        if beat:
            days = token_days_left(beat.get("tokenAuthorizedAt"), now)
            report["tokenDaysLeft"] = None if days is None else round(days, 1)
            if beat.get("authError"):
                report["auth"] = "error"
                report["action"] = (
                    "Spotify refused the refresh token (revoked or expired after six months). "
                    "Reconnect: run `nowplaying auth`, or open /login?token=<ADMIN_TOKEN>."
                )
            elif days is not None and days <= 14:
                report["action"] = f"The refresh token expires in {days:.0f} days: reconnect soon."
        report["spotify"] = await spotify_budget(runtime)
        report["stale"] = hub.document["stale"]
        report["subscribed"] = hub.redis_ok
        return JSONResponse(report, 200 if ready else 503, headers={"Cache-Control": "no-store"})

    async def metrics(request: Request) -> Response:
        stats: dict[str, int] = {}
        days = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                stats = await store.stats()
                beat = await store.heartbeat()
                if beat:
                    days = token_days_left(beat.get("tokenAuthorizedAt"), int(time.time() * 1000))
        budget = await spotify_budget(runtime)
        body = runtime.metrics.render(stats, days) + budget_metrics(budget)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    async def login(request: Request) -> Response:
        if not settings.admin_token:
            return Response("Not Found", 404)
        given = request.query_params.get("token", "")
        if not hmac.compare_digest(given.encode(), settings.admin_token.encode()):
            return _page("Forbidden", "<p>Open /login?token=&lt;ADMIN_TOKEN&gt;.</p>", 403)
        if not settings.client_id or not settings.client_secret:
            return _page(
                "Not configured",
                "<p>Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET first.</p>",
                503,
            )
        problem = oauth.redirect_uri_problem(settings.redirect_uri)
        if problem:
            return _page(
                "Redirect URI", f"<p>SPOTIFY_REDIRECT_URI: {html.escape(problem)}</p>", 503
            )
        verifier, challenge = oauth.pkce_pair()
        state = oauth.new_state()
        await store.save_oauth_state(state, {"verifier": verifier}, oauth.STATE_TTL_S)
        url = oauth.authorize_url(
            settings.accounts_url, settings.client_id, settings.redirect_uri, state, challenge
        )
        return RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})

    async def callback(request: Request) -> Response:
        if not settings.admin_token:
            return Response("Not Found", 404)
        q = request.query_params
        state = q.get("state", "")
        record = await store.consume_oauth_state(state) if 8 <= len(state) <= 128 else None
        if record is None:
            return _page(
                "Invalid or expired link",
                "<p>This sign-in link is unknown, used or "
                "older than 10 minutes. Start again from /login.</p>",
                400,
            )
        if q.get("error"):
            reason = "You declined access" if q["error"] == "access_denied" else "Spotify said no"
            return _page(
                reason,
                f"<p>Spotify answered <code>{html.escape(q['error'])}</code>. "
                "Nothing was changed; start again from /login when you are ready.</p>",
                400,
            )
        code = q.get("code")
        if not code or not settings.client_id or not settings.client_secret:
            return _page("Missing code", "<p>The callback carried no code.</p>", 400)
        try:
            grant = await oauth.exchange_code(
                oauth.token_client(runtime.http, settings.accounts_url),
                settings.client_id,
                settings.client_secret,
                code,
                settings.redirect_uri,
                record["verifier"],
            )
        except InvalidClient:
            return _page(
                "Invalid client",
                "<p>Spotify refused the client id or secret: check "
                "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET.</p>",
                502,
            )
        except (InvalidGrant, SpotifyError):
            return _page(
                "Code rejected",
                "<p>Spotify did not accept the code (expired or "
                "already used). Start again from /login.</p>",
                502,
            )
        if not grant.refresh_token:
            return _page("No refresh token", "<p>Spotify sent no refresh token.</p>", 502)
        env = settings.refresh_token
        await store.store_refresh_token(
            grant.refresh_token,
            authorized_at=int(time.time() * 1000),
            env_seen=fingerprint(env) if env else None,
        )
        log.info("a new Spotify refresh token was stored through /callback")
        return _page(
            "Connected",
            "<p>Your Spotify account is connected. The poller uses the "
            "new token on its next poll. You can close this page.</p>",
            200,
        )

    cors = Cors(settings.cors_origins)
    now_playing = NowPlayingEndpoint(hub, runtime.metrics, cors, on_read=runtime.ask_fresh)
    stream = StreamEndpoint(hub, runtime.metrics, cors)
    routes: list[BaseRoute] = [
        Route("/", index),
        Route("/api/now-playing", now_playing),
        Route("/api/stream", stream),
        Route("/widget.js", widget),
        Route("/embed.svg", embed_svg),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/login", login),
        Route("/callback", callback),
        *(extra_routes or []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    middleware = [
        Middleware(RequestCounter, metrics=runtime.metrics),
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Last-Event-ID", "If-None-Match", "Cache-Control"],
            expose_headers=["ETag"],
            max_age=600,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    return HotRoutes(app, now_playing, stream)
