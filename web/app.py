"""The web app: a route table. Handlers live in modules by purpose; what each route sends
besides its body (CORS, security headers, metrics label) is one row of web/routes.py.

Every read is served from the hub's memory; Redis is touched only by the one
subscription, the poller watchdog, /readyz, /metrics and the setup routes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from shared.logs import RedactingFilter
from web.cors import Cors
from web.headers import PolicyHeaders
from web.health import Health
from web.hot import HotRoutes, NowPlayingEndpoint
from web.ingest import Ingest
from web.metrics import RequestCounter
from web.pages import Pages
from web.runtime import WebRuntime
from web.setup import Setup
from web.sse import StreamEndpoint
from web.stream_limits import StreamGate
from web.views import Views


def protect_access_log(secrets: list[str]) -> None:
    """Redact at the access logger itself: its lines carry query strings (`?token=`,
    `?code=`) and reach every handler, not only ours."""
    access = logging.getLogger("uvicorn.access")
    for old in [f for f in access.filters if isinstance(f, RedactingFilter)]:
        access.removeFilter(old)
    access.addFilter(RedactingFilter(secrets))


def build_app(runtime: WebRuntime, extra_routes: list[BaseRoute] | None = None) -> ASGIApp:
    """The ASGI app of one web process.

    To add a route: a handler in the module of its purpose, one `Route` below, and one
    row in web/routes.py (its CORS and CSP); tests/test_route_policy.py checks they agree.

    Middleware added to `middleware` never sees GET/HEAD of /api/now-playing and
    /api/stream: HotRoutes sends those straight to their endpoints, around Starlette,
    because every middleware layer wraps `send` in one more coroutine per frame, and the
    fan-out (web/fanout.py) drives a stream's `send` by hand, which is only correct while it
    is the server's own (tests/test_fanout.py guards it). The hot endpoints add the same
    CORS and security headers themselves, from the same web/routes.py rows.
    """
    settings, hub = runtime.settings, runtime.hub
    protect_access_log(settings.secrets())
    cors = Cors(settings.cors_origins)
    now_playing = NowPlayingEndpoint(hub, runtime.metrics, cors, on_read=runtime.ask_fresh)
    stream = StreamGate(StreamEndpoint(hub, runtime.metrics, cors), runtime.limiter)
    pages = Pages()
    views = Views(hub, runtime.metrics, cors, runtime.art)
    views.use_fresh(runtime.fresh_view)  # one-shot views wake the poller (#10)
    health = Health(runtime)
    setup = Setup(settings, runtime.store, runtime.http, runtime.admin)
    ingest = Ingest(settings, runtime.store, shown=lambda: hub.document)
    routes: list[BaseRoute] = [
        Route("/", pages.index),
        Route("/api/now-playing", now_playing),  # GET/HEAD: HotRoutes; here: OPTIONS, 405
        Route("/api/stream", stream),  # likewise
        Route("/widget.js", pages.widget),
        *views.routes(),  # /embed.svg, /overlay; /now.txt and /open: GET/HEAD via HotRoutes
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/login", setup.login),
        Route("/callback", setup.callback),
        *ingest.routes(),  # push ingest: /1/submit-listens, /1/validate-token, ...
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
        Middleware(PolicyHeaders, cors=cors),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.router.redirect_slashes = False  # its Location echoes the Host header (#13 row 16)
    hot = HotRoutes(app, now_playing, stream)
    hot.routes.update(views.hot)
    return hot
