"""The two routes every viewer hits, served around Starlette's middleware stack.

`GET /api/now-playing` and `GET /api/stream` answer from the hub's memory; through
Starlette each request also pays for the error and exception middleware, the CORS and
counting middleware, route matching and a Response object: 0.58 x the requests per
second of a bare route (bench/http_json.py). Here both are plain ASGI with
headers prepared once per version. Every other request, OPTIONS preflights included,
goes through the full app.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from web.cors import Cors
from web.hub import Hub
from web.metrics import Metrics
from web.routes import policy_for, security_headers
from web.sse import PATH as STREAM_PATH
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

    def __init__(
        self, hub: Hub, metrics: Metrics, cors: Cors, on_read: Callable[[], None] | None = None
    ) -> None:
        self.hub = hub
        self.on_read = on_read  # asks for a poll when the document may be old; never waits
        self.cors = cors
        self.security = security_headers(policy_for(PATH))
        self.ok = metrics.requests.labels(PATH, "200")
        self.not_modified = metrics.requests.labels(PATH, "304")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await plain(send, 405, b"method not allowed")
            return
        hub = self.hub
        if self.on_read is not None:
            self.on_read()
        headers = Headers(scope=scope)
        cors = self.cors.headers(headers.get("origin"))
        if etag_matches(headers.get("if-none-match"), hub.etag):
            self.not_modified.inc()
            start = {
                "type": "http.response.start",
                "status": 304,
                "headers": hub.tag_headers + self.security + cors,
            }
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        self.ok.inc()
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": hub.json_headers + self.security + cors,
        }
        await send(start)
        body = b"" if scope["method"] == "HEAD" else hub.raw
        await send({"type": "http.response.body", "body": body})


class HotRoutes:
    """GET/HEAD of the two hot paths straight to their endpoints; the rest to `app`."""

    def __init__(self, app: ASGIApp, now_playing: NowPlayingEndpoint, stream: ASGIApp) -> None:
        self.app = app
        self.routes: dict[str, ASGIApp] = {PATH: now_playing, STREAM_PATH: stream}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            endpoint = self.routes.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
