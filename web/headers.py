"""The headers every answer of the Starlette app carries besides its own: CORS where
web/routes.py lists it, and the security headers. The hot routes add the same lists
themselves (they never pass through this middleware)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.cors import Cors
from web.routes import policy_for, security_headers


class PolicyHeaders:
    """Pure ASGI middleware: answers CORS preflights on CORS routes, and appends each
    route's CORS and security headers to every response start."""

    def __init__(self, app: ASGIApp, cors: Cors) -> None:
        self.app = app
        self.cors = cors
        self.preflight = cors.preflight(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = policy_for(scope["path"])
        request = Headers(scope=scope)
        origin = request.get("origin")
        extra = security_headers(route)
        if route.cors:
            if (
                scope["method"] == "OPTIONS"
                and origin is not None
                and "access-control-request-method" in request
            ):
                answer = self.preflight.preflight_response(request_headers=request)
                await answer(scope, receive, _appending(send, extra))
                return
            extra += self.cors.headers(origin)
        await self.app(scope, receive, _appending(send, extra))


def _appending(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def appending_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return appending_send
