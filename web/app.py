"""The web app: a route table. Handlers live in modules by purpose; what each route sends
besides its body (CORS, security headers, metrics label) is one row of web/routes.py.

Every read is served from the hub's memory; Redis is touched only by the one
subscription, the poller watchdog, /readyz, /metrics and the setup routes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.routing import BaseRoute, Route, Router
from starlette.types import ASGIApp

from shared.logs import RedactingFilter
from web.admin.page import Admin
from web.configure import configure
from web.cors import Cors
from web.headers import PolicyHeaders
from web.health import Health
from web.history import HistoryViews
from web.home import HomePage
from web.hot import NowPlayingEndpoint, RawRoutes
from web.ingest import Ingest
from web.og import OgImage
from web.pages import Pages
from web.routes import CORS_POST_PATHS
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

    The app is Starlette's Router inside the one policy middleware (web/headers.py:
    headers and counting), with no other layer: Starlette's application class would add
    its error and exception middlewares, two more `send` wrappers on every request (the
    JSON route at 0.87x a bare Starlette route instead of 0.98x), for nothing this app
    uses (no handler raises HTTPException; an unexpected error is uvicorn's 500, as it
    was theirs). Every route passes through the middleware except GET/HEAD of the rows
    web/routes.py marks `raw` (the SSE stream alone; the row says why), which RawRoutes
    sends to their endpoint ahead of it; they add their row's headers with the
    middleware's own function.
    """
    settings, hub = runtime.settings, runtime.hub
    protect_access_log(settings.secrets())
    # A POST preflight for the ingest routes only while they exist (else refused as for
    # any other /api/* path, so a preflight does not tell that they are there).
    post_paths = CORS_POST_PATHS if settings.ingest_token else ()
    cors = Cors(settings.cors_origins, post_paths=post_paths)
    now_playing = NowPlayingEndpoint(hub, on_read=runtime.ask_fresh)
    stream = StreamGate(StreamEndpoint(hub, runtime.metrics, cors), runtime.limiter, cors)
    pages = Pages()
    views = Views(hub, runtime.metrics, cors, runtime.art)
    views.use_fresh(runtime.fresh_view)  # one-shot views wake the poller
    health = Health(runtime)
    history = HistoryViews(settings, runtime.store, runtime.art, version=lambda: hub.version)
    setup = Setup(settings, runtime.store, runtime.http, runtime.admin)
    ingest = Ingest(settings, runtime.store, shown=lambda: hub.document)
    home = HomePage(settings, hub)  # the card page, its og: meta and the first-run note
    og = OgImage(hub, runtime.art)
    admin = Admin(runtime, setup)  # /admin and its JSON and actions
    routes: list[BaseRoute] = [
        Route("/", home.index),
        Route("/api/now-playing", now_playing),
        Route("/api/stream", stream),  # raw: GET/HEAD via RawRoutes; here OPTIONS, 405
        Route("/widget.js", pages.widget),
        *views.routes(),  # /embed.svg, /overlay, /now.txt, /open
        *history.routes(),  # /api/history, /history.svg
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics),
        Route("/login", setup.login),
        Route("/callback", setup.callback),
        *ingest.routes(),  # push ingest: /1/submit-listens, /1/validate-token, ...
        Route("/og.png", og.endpoint),
        *admin.routes(),
        Route("/configure", configure),
        *(extra_routes or []),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # redirect_slashes off: its Location would echo the Host header.
    router = Router(routes=routes, lifespan=lifespan, redirect_slashes=False)
    app = PolicyHeaders(router, cors=cors, count=runtime.metrics.count)
    return RawRoutes(app, {"/api/stream": stream})
