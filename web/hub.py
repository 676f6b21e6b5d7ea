"""The web process's one copy of the document, encoded once per version for every reader.

It owns the set of SSE subscribers and hands each new frame to them; how a frame reaches
a stream, and what must stay true for that, is web/fanout.py.

What arrives on the pub/sub channel is not trusted blindly: anyone who can write to Redis
can PUBLISH a document that was never stored. A `version` of 1e18 published once used to
become the hub's version, and every real version below it was ignored until a restart.
Now a published document is taken at once only when it is the next version (what the
poller publishes, stored in the same transaction); anything else (a jump, an older or a
conflicting one) is settled by reading `P:current` back (`resync`): the stored document
is the truth, even when its version is below the hub's. Documents that fail validation
are ignored, the last good one stays, and they are logged as counts (web/refusal_log.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

from shared.document import Document, decode, empty_document, encode
from web.fanout import PING_MESSAGE, SEND_TIMEOUT_S, Subscriber, body_message, reap_stuck
from web.refusal_log import RefusalLog
from web.sse_wire import event_frame

log = logging.getLogger("nowplaying.web")


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
        self.generation = 0  # grows with every document taken (see resync)
        self.ignored = RefusalLog(log, "ignored documents from redis (the last valid one stays)")

    @property
    def version(self) -> int:
        return self.document["version"]

    def _prepare(self) -> None:
        """Everything a reader gets, encoded once per version."""
        document = self.document
        self.frame = event_frame(document, self.raw)
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

    def _decode(self, raw: bytes) -> Document | None:
        document = decode(raw)
        if document is None:
            self.ignored.count("invalid document")  # a fixed label: never the bytes
        return document

    def update(self, raw: bytes) -> bool:
        """Take a document read from `P:current` if it is newer, and write it to every
        parked stream."""
        document = self._decode(raw)
        if document is None:
            return False
        version = document["version"]
        if version < self.version or (version == self.version and not self.local):
            return False
        self.local = False
        self._take(document, bytes(raw))
        return True

    def offer(self, raw: bytes) -> bool | None:
        """A document from the pub/sub channel: True when taken (the next version, or the
        stored twin of a local stale mark), False when ignored (invalid, or what the hub
        already has), None when only `P:current` can tell (call `resync` with it)."""
        document = self._decode(raw)
        if document is None:
            return False
        version = document["version"]
        if version == self.version + 1 or (version == self.version and self.local):
            self.local = False
            self._take(document, bytes(raw))
            return True
        if version == self.version and raw == self.raw:
            return False
        return None

    def resync(self, raw: bytes | None) -> bool:
        """`P:current` as read back: the truth, taken even when its version is below the
        hub's (which then came from a document that was never stored). Nothing stored,
        or nothing valid: the hub keeps what it has."""
        if raw is None:
            return False
        document = self._decode(raw)
        if document is None:
            return False
        if document["version"] == self.version and raw == self.raw and not self.local:
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
        self.generation += 1
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
        return reap_stuck(self.subscribers, now, timeout_s)

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
