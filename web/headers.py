"""The headers every answer carries besides its own: CORS where web/routes.py lists it,
and the security headers. `route_headers` is the one place they are computed: the
middleware applies it to every route of the Starlette app, and the one raw route
(`/api/stream`, outside the middleware: web/routes.py says why) calls it itself."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.cors import Cors
from web.request_headers import header
from web.routes import ROUTES, Header, RoutePolicy, metric_label, policy_for, security_headers


def route_headers(route: RoutePolicy, cors: Cors, origin: str | None) -> list[Header]:
    """What an answer of `route` carries besides its own headers, for this Origin."""
    extra = security_headers(route)
    if route.cors:
        extra += cors.headers(origin)
    return extra


Count = Callable[[str, int], None]  # (route label, status): one answer counted


class PolicyHeaders:
    """Pure ASGI middleware: answers CORS preflights on CORS routes, appends each route's
    CORS and security headers to every response start, and counts the answer by route
    and status, in one `send` wrapper (each layer of wrapping costs every request)."""

    def __init__(self, app: ASGIApp, cors: Cors, count: Count) -> None:
        self.app = app
        self.cors = cors
        self.count = count
        self.preflight = cors.preflight(app)
        self.post_preflight = cors.preflight(app, post=True)
        # Per table path: its row, its metric label and its security headers, once.
        self.known = {r.path: (r, metric_label(r.path), security_headers(r)) for r in ROUTES}

    def _route(self, path: str) -> tuple[RoutePolicy, str, list[Header]]:
        found = self.known.get(path)
        if found is not None:
            return found
        route = policy_for(path)
        return route, metric_label(path), security_headers(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route, label, security = self._route(path)
        extra = security
        if route.cors:
            origin = header(scope, b"origin")
            if scope["method"] == "OPTIONS" and origin is not None:
                request = Headers(scope=scope)
                if "access-control-request-method" in request:
                    asked = self.post_preflight if path in self.cors.post_paths else self.preflight
                    answer = asked.preflight_response(request_headers=request)
                    await answer(scope, receive, self._sending(send, label, security))
                    return
            extra = security + self.cors.headers(origin)
        await self.app(scope, receive, self._sending(send, label, extra))

    def _sending(self, send: Send, label: str, extra: list[Header]) -> Send:
        count = self.count

        async def policy_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
                count(label, message["status"])
            await send(message)

        return policy_send
