"""The web process's one copy of the document, and the fan-out to SSE subscribers.

Each subscriber is a latest-wins slot (a future to wake and the version it last got),
never a queue: a slow client can only miss intermediate versions, never grow memory, and
the hub encodes each version once for every subscriber.
"""

from __future__ import annotations

import asyncio
import enum
import time

from sse_starlette.event import ServerSentEvent

from shared.document import Document, decode, empty_document, encode


class Wake(enum.Enum):
    UPDATE = 1
    PING = 2
    CLOSE = 3


class Subscriber:
    __slots__ = ("sent_version", "waiter")

    def __init__(self) -> None:
        self.waiter: asyncio.Future[Wake] | None = None
        self.sent_version = -1

    def wake(self, reason: Wake) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(reason)

    async def wait(self) -> Wake:
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
        self.frame = sse_event(self.document, self.raw)
        self.etag = self._etag()
        self.subscribers: set[Subscriber] = set()
        self.closed = False
        self.events_sent = 0
        self.slow_dropped = 0
        self.redis_ok = False
        self.reconnects = 0
        self.last_message_at = time.monotonic()

    @property
    def version(self) -> int:
        return self.document["version"]

    def _etag(self) -> str:
        return f'"np-{self.document["version"]}-{self.document["updatedAt"]}"'

    def update(self, raw: bytes) -> bool:
        """Take a document from Redis if it is newer; wake every subscriber."""
        document = decode(raw)
        if document is None or document["version"] <= self.version:
            return False
        self.document, self.raw = document, bytes(raw)
        self.frame = sse_event(document, self.raw)
        self.etag = self._etag()
        for subscriber in self.subscribers:
            subscriber.wake(Wake.UPDATE)
        return True

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def ping_all(self) -> None:
        for subscriber in self.subscribers:
            subscriber.wake(Wake.PING)

    def close(self) -> None:
        """End every stream now (shutdown must not wait for clients to leave)."""
        self.closed = True
        for subscriber in list(self.subscribers):
            subscriber.wake(Wake.CLOSE)

    async def ping_forever(self, interval_s: float) -> None:
        while not self.closed:
            await asyncio.sleep(interval_s)
            self.ping_all()
