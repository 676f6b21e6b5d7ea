"""`GET /api/stream`: Server-Sent Events straight on ASGI.

sse-starlette's EventSourceResponse starts several tasks per client; at thousands of
clients that is most of the memory. Here each client costs its request task plus one
task that waits for the disconnect, and every frame is pre-encoded by the hub
(sse-starlette's own encoder). bench/ measures both side by side.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from web.hub import Hub, Subscriber, Wake

RETRY_MS = 3000
SEND_TIMEOUT_S = 10.0
PING_FRAME = b": ping\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
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
            subscriber.wake(Wake.CLOSE)
            return


class StreamEndpoint:
    """The ASGI app behind /api/stream, bound to one hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = self.hub
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"method not allowed")
            return
        last_id = parse_last_event_id(Headers(scope=scope).get("last-event-id"))
        subscriber = hub.subscribe()
        watcher = asyncio.get_running_loop().create_task(_until_disconnect(receive, subscriber))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            first = b"retry: %d\n\n" % RETRY_MS
            if last_id is not None and last_id == hub.version:
                subscriber.sent_version = hub.version
            else:
                first += hub.frame
                subscriber.sent_version = hub.version
                hub.events_sent += 1
            await send({"type": "http.response.body", "body": first, "more_body": True})
            if scope["method"] == "HEAD":
                return
            await self._stream(subscriber, send)
        except TimeoutError:
            hub.slow_dropped += 1
        finally:
            hub.unsubscribe(subscriber)
            watcher.cancel()
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(self, subscriber: Subscriber, send: Send) -> None:
        hub = self.hub
        while not hub.closed:
            if hub.version > subscriber.sent_version:
                subscriber.sent_version = hub.version
                chunk = hub.frame
                hub.events_sent += 1
            else:
                reason = await subscriber.wait()
                if reason is Wake.CLOSE:
                    return
                if reason is not Wake.PING or hub.version > subscriber.sent_version:
                    continue
                chunk = PING_FRAME
            # A client that stops reading fills the socket buffer; don't wait on it forever.
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
