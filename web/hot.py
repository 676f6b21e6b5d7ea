"""`GET /api/now-playing`, answered from the hub's memory, and the dispatch of the one
raw route.

The JSON endpoint is plain ASGI with its headers prepared once per version (no Response
object per request), mounted as an ordinary route: the middleware adds CORS, security
headers and the count like everywhere. `RawRoutes` sends GET/HEAD of the paths web/routes.py
marks `raw` (the SSE stream alone) to their endpoint ahead of the middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from web.hub import Hub
from web.request_headers import header
from web.routes import RAW_PATHS
from web.sse import plain

PATH = "/api/now-playing"


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: a list of tags, weak or strong, or `*`; anything malformed: no match."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = [part.strip().removeprefix("W/") for part in header.split(",")]
    return etag in candidates


class NowPlayingEndpoint:
    """`GET /api/now-playing`: the cached document, its ETag, and 304 on a match."""

    def __init__(self, hub: Hub, on_read: Callable[[], None] | None = None) -> None:
        self.hub = hub
        self.on_read = on_read  # asks for a poll when the document may be old; never waits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await plain(send, 405, b"method not allowed")
            return
        hub = self.hub
        if self.on_read is not None:
            self.on_read()
        if etag_matches(header(scope, b"if-none-match"), hub.etag):
            start = {"type": "http.response.start", "status": 304, "headers": hub.tag_headers}
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        start = {"type": "http.response.start", "status": 200, "headers": hub.json_headers}
        await send(start)
        body = b"" if scope["method"] == "HEAD" else hub.raw
        await send({"type": "http.response.body", "body": body})


class RawRoutes:
    """GET/HEAD of the raw paths straight to their endpoints; everything else, their
    OPTIONS preflights and 405s included, to `app`."""

    def __init__(self, app: ASGIApp, raw: dict[str, ASGIApp]) -> None:
        missing = RAW_PATHS - set(raw)
        assert not missing, f"no endpoint for the raw routes {sorted(missing)}"
        self.app = app
        self.routes = dict(raw)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            endpoint = self.routes.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
