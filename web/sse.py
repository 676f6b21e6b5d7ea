"""`GET /api/stream`: Server-Sent Events straight on ASGI.

A change is written to every open stream at once, so the cost per stream per frame is
what bounds fan-out (bench/sse_fanout.py). Hence: no EventSourceResponse (several tasks
per client), frames pre-encoded once per version and written by the hub (web/fanout.py),
no timer per send (the hub reaps streams stuck in a send), and GET/HEAD reach this
endpoint ahead of the middleware (it is the one `raw` row of web/routes.py), because each
middleware layer wraps `send` in one more coroutine per frame. So it adds its route's
headers itself, with the same function the middleware uses, and counts itself.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from web.cors import Cors
from web.fanout import Subscriber, body_message, run_stream
from web.headers import route_headers
from web.hub import Hub
from web.metrics import Metrics
from web.routes import policy_for
from web.sse_wire import first_frame

PATH = "/api/stream"
HEADERS = [
    (b"content-type", b"text/event-stream"),  # the contract's type; SSE is UTF-8 by spec
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
    # Compressing proxies leave a body with a Content-Encoding alone: Caddy 2.6's `encode`
    # would otherwise hold every event (caddyserver/caddy#6293), and nginx's gzip skips it too.
    # Tested through both in Chromium: tests/test_proxies.py. RFC 2616 says `identity`
    # SHOULD NOT appear here; clients read it as "no coding", and it is the one signal 2.6 honours.
    (b"content-encoding", b"identity"),
]


def parse_last_event_id(value: str | None) -> int | None:
    """A version from Last-Event-ID; anything else (huge, negative, text) counts as none."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


async def _until_disconnect(receive: Receive, subscriber: Subscriber) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscriber.close()
            return


class StreamEndpoint:
    """The ASGI app behind /api/stream, bound to one hub."""

    def __init__(self, hub: Hub, metrics: Metrics, cors: Cors) -> None:
        self.hub = hub
        self.metrics = metrics
        self.cors = cors
        self.route = policy_for(PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        if scope["method"] not in ("GET", "HEAD"):
            await plain(send, 405, b"method not allowed")
            return
        headers = Headers(scope=scope)
        last_id = parse_last_event_id(headers.get("last-event-id"))
        response_headers = HEADERS + route_headers(self.route, self.cors, headers.get("origin"))
        subscriber = hub.subscribe()
        watcher = asyncio.get_running_loop().create_task(_until_disconnect(receive, subscriber))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": response_headers})
            self.metrics.count(PATH, 200)
            event = None
            if last_id is None or last_id != hub.version:
                event = hub.frame
                hub.events_sent += 1
            first = first_frame(event)
            subscriber.sent_version = hub.version
            await send(body_message(first))
            if scope["method"] == "HEAD":
                return
            await run_stream(hub, subscriber, send)
        except asyncio.CancelledError:
            if not subscriber.reaped:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            hub.slow_dropped += 1
        finally:
            hub.unsubscribe(subscriber)
            watcher.cancel()
            # A reaped stream's final send would wait on the same full buffer; returning
            # unfinished makes uvicorn close the connection instead.
            if not subscriber.reaped:
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
