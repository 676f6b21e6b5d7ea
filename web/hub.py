"""The web process's one copy of the document, and the fan-out to SSE subscribers.

Each subscriber is a latest-wins slot (the version it last got), never a queue: a slow
client can only miss intermediate versions, never grow memory, and the hub encodes each
version once for every subscriber.

Fan-out writes each frame from the hub's own stack into every stream that is parked
(waiting for news), instead of waking one task per stream: at 10,000 streams the task
switch, a new future per wait and the garbage they leave cost as much as the socket
writes themselves (bench/sse_fanout.py). Only a write that has to wait for a slow client
is handed to that stream's own task, which finishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

from sse_starlette.event import ServerSentEvent
from starlette.types import Message, Send

from shared.document import Document, decode, empty_document, encode

SEND_TIMEOUT_S = 10.0
PING_FRAME = b": ping\n\n"


def body_message(body: bytes) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": True}


PING_MESSAGE = body_message(PING_FRAME)


class PendingSend:
    """A send that started on the hub's stack and must wait for the socket to drain."""

    __slots__ = ("blocker", "coro")

    def __init__(self, coro: Coroutine[Any, Any, None], blocker: Any) -> None:
        self.coro = coro
        self.blocker = _taken(blocker)  # what the coroutine yielded: the future it waits on

    async def finish(self) -> None:
        """Drive the rest of the coroutine as a task would; cancelling closes it."""
        try:
            while True:
                if self.blocker is None:
                    await asyncio.sleep(0)
                else:
                    with contextlib.suppress(Exception):  # the coroutine sees it when resumed
                        await self.blocker
                self.blocker = _taken(self.coro.send(None))
        except StopIteration:
            pass
        finally:
            self.coro.close()


def _taken(yielded: Any) -> Any:
    """Acknowledge a yielded future the way asyncio.Task does, so it can be awaited again."""
    if getattr(yielded, "_asyncio_future_blocking", False):
        yielded._asyncio_future_blocking = False
    return yielded


# What a parked stream is woken with: a send to finish, or None to end the stream.
Wakeup = PendingSend | None


class Subscriber:
    __slots__ = ("gone", "reaped", "send", "sending_since", "sent_version", "task", "waiter")

    def __init__(self) -> None:
        self.send: Send | None = None
        self.waiter: asyncio.Future[Wakeup] | None = None
        self.sent_version = -1
        self.task: asyncio.Task[Any] | None = None
        self.sending_since = 0.0  # monotonic start of a send the task is finishing, else 0
        self.reaped = False
        self.gone = False  # sticky: a close that lands while the task is busy still counts

    def close(self) -> None:
        self.gone = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def push(self, message: Message) -> bool:
        """Send `message` now if the stream is parked; False if its task is busy (it will
        see the newer version itself when it loops). One message object serves every
        stream: ASGI servers only read it."""
        waiter, send = self.waiter, self.send
        if waiter is None or waiter.done() or send is None:
            return False
        coro = send(message)
        try:
            blocker = coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return True
        except Exception:
            coro.close()  # type: ignore[attr-defined]
            waiter.set_result(None)
            return False
        waiter.set_result(PendingSend(coro, blocker))  # type: ignore[arg-type]
        return True

    async def wait(self) -> Wakeup:
        if self.gone:
            return None
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            return await self.waiter
        finally:
            self.waiter = None


def sse_event(document: Document, raw: bytes) -> bytes:
    """The SSE frame for one version, encoded once with sse-starlette's encoder."""
    event = ServerSentEvent(
        data=raw.decode(), event="now-playing", id=str(document["version"]), sep="\n"
    )
    return event.encode()


class Hub:
    """Owns the latest document and the set of subscribers of one web process."""

    def __init__(self, demo: bool = False) -> None:
        self.document: Document = empty_document(demo)
        self.raw = encode(self.document)
        self._prepare()
        self.subscribers: set[Subscriber] = set()
        self.closed = False
        self.local = False  # the document was marked stale here, not read from Redis
        self.events_sent = 0
        self.slow_dropped = 0
        self.redis_ok = False
        self.reconnects = 0

    @property
    def version(self) -> int:
        return self.document["version"]

    def _prepare(self) -> None:
        """Everything a reader gets, encoded once per version."""
        document = self.document
        self.frame = sse_event(document, self.raw)
        self.etag = f'"np-{document["version"]}-{document["updatedAt"]}"'
        self.tag_headers = [
            (b"etag", self.etag.encode()),
            (b"cache-control", b"no-cache"),
        ]
        self.json_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.raw)).encode()),
            *self.tag_headers,
        ]

    def update(self, raw: bytes) -> bool:
        """Take a document from Redis if it is newer, and write it to every parked stream."""
        document = decode(raw)
        if document is None:
            return False
        version = document["version"]
        if version < self.version or (version == self.version and not self.local):
            return False
        self.local = False
        self._take(document, bytes(raw))
        return True

    def mark_stale(self, now_ms: int) -> bool:
        """Redis is out of reach, so nobody can publish that the data went stale: tell
        this process's readers. The version stays, so that whatever Redis holds when it
        returns, the same version included, replaces this local copy."""
        if self.document["stale"]:
            return False
        document: Document = self.document | {"updatedAt": now_ms, "stale": True}
        self.local = True
        self._take(document, encode(document))
        return True

    def _take(self, document: Document, raw: bytes) -> None:
        self.document, self.raw = document, raw
        self._prepare()
        version, message = self.version, body_message(self.frame)
        for subscriber in self.subscribers:
            if subscriber.push(message):
                subscriber.sent_version = version
                self.events_sent += 1

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def ping_all(self) -> None:
        """A comment on every idle stream, so that proxies keep it open."""
        for subscriber in self.subscribers:
            subscriber.push(PING_MESSAGE)

    def close(self) -> None:
        """End every stream now (shutdown must not wait for clients to leave)."""
        self.closed = True
        for subscriber in list(self.subscribers):
            subscriber.close()

    def reap_stuck(self, now: float, timeout_s: float = SEND_TIMEOUT_S) -> int:
        """Cancel the streams whose client stopped reading: one sweep instead of a timer
        armed around every send of every stream."""
        reaped = 0
        for subscriber in self.subscribers:
            since = subscriber.sending_since
            if since and now - since > timeout_s and subscriber.task and not subscriber.reaped:
                subscriber.reaped = True
                subscriber.task.cancel()
                reaped += 1
        return reaped

    async def run_timers(self, ping_interval_s: float, tick_s: float = 1.0) -> None:
        """Keep-alive pings on idle streams, and the sweep for stuck ones."""
        next_ping = time.monotonic() + ping_interval_s
        while not self.closed:
            await asyncio.sleep(min(tick_s, ping_interval_s))
            now = time.monotonic()
            self.reap_stuck(now)
            if now >= next_ping:
                self.ping_all()
                next_ping = now + ping_interval_s
