"""Limits at the HTTP layer, before any request reaches the app.

uvicorn's httptools protocol has no cap on the size of a request head and no timeout for
a head that never finishes: a 110 MB header was read for 21 s and answered 200, and 3,000
sockets that sent nothing stayed open. `LimitedHttpToolsProtocol` adds both:

- a head (request line and headers) past `max_head_bytes` is answered 431 and the
  connection closed. It is counted twice: the bytes received while the head is incomplete
  (so a huge header is cut off while it streams in, never buffered whole), and, exactly,
  the parsed target and headers once the head completes;
- a head not complete `head_timeout_s` after the read that left it incomplete (or after
  the connection opened) is answered 408 and closed. Between requests uvicorn's
  keep-alive timeout applies as before: the deadline starts with the next head's first
  byte (httptools' on_message_begin), not when the previous request completes.

The per-request cost is kept to a few attribute checks: a head that arrives in one read
(nearly all of them) arms no timer, and the exact size is summed once per request. What
must stay true: no timer per keep-alive request. Arming one whenever a read ended
between two requests cost 5 to 10 % of the JSON route's throughput in make bench, and
answered 408 to connections idle for longer than the header timeout.

Nothing here wraps the app's `send`: the fan-out writes straight into uvicorn's.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.config import Settings

log = logging.getLogger("nowplaying.web")

MAX_HEAD_BYTES = 16 * 1024
FDS_PER_EXTRA_CONNECTION = 256  # room for non-stream requests beside a full stream cap


def _answer(status: int, reason: str) -> bytes:
    body = f"{status} {reason}\n".encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


TOO_LARGE = _answer(431, "Request Header Fields Too Large")
TIMEOUT = _answer(408, "Request Timeout")


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the request head and a deadline for it."""

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout_s = 10.0
    refused_heads = 0  # class-wide counters, read by /metrics
    timed_out_heads = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True
        self._head_started = True  # the first head's deadline runs from the connection
        self._head_received = 0  # raw bytes while the head is incomplete
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a stream is being answered: no 408 inside it; keep-alive ends it later
        if self._in_head and not self.transport.is_closing():
            LimitedHttpToolsProtocol.timed_out_heads += 1
            self._refuse(TIMEOUT)

    def _refuse(self, answer: bytes) -> None:
        self._refused = True
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_received += len(data)
        super().data_received(data)
        if self._in_head and self._head_started and not self._refused:  # head incomplete
            if self._head_received > self.max_head_bytes:
                LimitedHttpToolsProtocol.refused_heads += 1
                self._refuse(TOO_LARGE)
            else:
                self._arm_head_timer()  # a head done in one read never pays for a timer

    def on_message_begin(self) -> None:
        self._head_started = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        if self._refused:
            return
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.max_head_bytes:
            LimitedHttpToolsProtocol.refused_heads += 1
            self._refuse(TOO_LARGE)
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head = True  # what follows on this connection is the next request's head
        self._head_started = False  # ...from its first byte on (on_message_begin)
        self._head_received = 0


def protocol_class(max_head_bytes: int, head_timeout_s: float) -> type[LimitedHttpToolsProtocol]:
    """The protocol with these limits (uvicorn takes a class, and builds one per socket)."""
    attributes = {"max_head_bytes": max_head_bytes, "head_timeout_s": head_timeout_s}
    return type("ConfiguredHttpToolsProtocol", (LimitedHttpToolsProtocol,), attributes)


def uvicorn_options(settings: Settings, file_descriptors: int | None = None) -> dict[str, Any]:
    """What `uvicorn.Config` takes to enforce the limits: header size and timeout, the
    connection cap (503 past it, kept 64 below `file_descriptors` so that a full process
    answers 503 instead of resetting connections), and the client address from
    X-Forwarded-For only when the peer is one of FORWARDED_ALLOW_IPS."""
    connections = settings.max_streams + FDS_PER_EXTRA_CONNECTION
    if file_descriptors is not None:
        connections = max(1, min(connections, file_descriptors - 64))
    return {
        "http": protocol_class(MAX_HEAD_BYTES, settings.header_timeout),
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": connections,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def fit_file_descriptors(settings: Settings) -> int | None:
    """Each stream holds a socket: raise the soft `ulimit -n` to what the caps need where
    the hard limit allows, else say so at start (past it, accept() fails and every
    client, /healthz included, is reset). The descriptors there are; None: unlimited."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = settings.max_streams + FDS_PER_EXTRA_CONNECTION + 64
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None if soft == resource.RLIM_INFINITY else soft
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return needed
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log.warning(
        "MAX_STREAMS=%d needs about %d file descriptors but ulimit -n allows %d: "
        "connections past %d get 503; raise the limit or lower MAX_STREAMS",
        settings.max_streams,
        needed,
        hard,
        max(1, hard - 64),
    )
    return int(hard)
