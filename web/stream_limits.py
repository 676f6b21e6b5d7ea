"""A cap on open SSE streams, per process and per client address, with a clear 503.

3,000 streams from one address were accepted in 0.8 s; past the file-descriptor limit
every new connection, /healthz included, was reset, and nothing was logged. A stream
holds a socket for as long as the client wants, so streams are what is capped; short
requests are bounded by uvicorn's connection cap (web/http_limits.py).

The client address is the one uvicorn puts in the scope: the peer, or X-Forwarded-For's
when the peer is one of FORWARDED_ALLOW_IPS. IPv6 clients are counted by /56
(CLIENT_IPV6_PREFIX): a home line often gets a /56, whose 256 /64s would otherwise
each have a cap of their own, more than MAX_STREAMS. `StreamGate` wraps the stream endpoint without
touching `send`: the fan-out keeps writing straight into the server's.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Receive, Scope, Send

from web.cors import Cors
from web.headers import route_headers
from web.request_headers import header
from web.routes import Header, policy_for

log = logging.getLogger("nowplaying.web")
RETRY_AFTER_S = 30
IPV6_PREFIX = 56


def client_key(address: str | None, ipv6_prefix: int = IPV6_PREFIX) -> str:
    """The unit a per-client cap counts: an IPv4 address, an IPv6 network (/56 unless
    told), or the address as given when it is no IP (a unix socket peer)."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
    return str(ip)


class StreamLimiter:
    """Counts open streams; pure bookkeeping, no I/O."""

    def __init__(self, per_process: int, per_client: int, ipv6_prefix: int = IPV6_PREFIX) -> None:
        self.per_process = per_process
        self.per_client = per_client
        self.ipv6_prefix = ipv6_prefix
        self.open = 0
        self.by_client: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # "process" or "client"

    def acquire(self, key: str) -> str | None:
        """None when a stream for `key` may open (then held until `release`), else why
        not: "process" (this process is full) or "client" (that address is)."""
        if self.open >= self.per_process:
            self.refused["process"] += 1
            return "process"
        if self.by_client[key] >= self.per_client:
            self.refused["client"] += 1
            return "client"
        self.open += 1
        self.by_client[key] += 1
        return None

    def release(self, key: str) -> None:
        self.open -= 1
        self.by_client[key] -= 1
        if self.by_client[key] <= 0:
            del self.by_client[key]


MESSAGES = {
    "process": b"503: this server has as many live streams open as it takes; try again later\n",
    "client": b"503: too many live streams open from your address; close some and try again\n",
}


class StreamGate:
    """ASGI wrapper: GET/HEAD of the stream endpoint only within the limiter's caps."""

    def __init__(self, app: ASGIApp, limiter: StreamLimiter, cors: Cors) -> None:
        self.app = app
        self.limiter = limiter
        self.cors = cors
        self.logged_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client_key(client[0] if client else None, self.limiter.ipv6_prefix)
        refused = self.limiter.acquire(key)
        if refused is not None:
            self._log(refused)
            extra = route_headers(STREAM_ROUTE, self.cors, header(scope, b"origin"))
            await _busy(send, MESSAGES[refused], extra)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release(key)

    def _log(self, reason: str) -> None:
        """At most one line a minute: a flood must not become a log flood."""
        now = time.monotonic()
        if now - self.logged_at >= 60:
            self.logged_at = now
            log.warning(
                "refusing SSE streams (%s cap: MAX_STREAMS=%d, MAX_STREAMS_PER_CLIENT=%d); "
                "refused so far: %s",
                reason,
                self.limiter.per_process,
                self.limiter.per_client,
                dict(self.limiter.refused),
            )


# The stream is served ahead of the middleware: its refusal adds the row's headers (CORS
# and security) itself, as the stream does.
STREAM_ROUTE = policy_for("/api/stream")


async def _busy(send: Send, body: bytes, extra: list[Header]) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),  # a refused client holds no socket either
        *extra,
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LimitsCollector:
    """/metrics: refused streams and request heads, and the streams open now."""

    def __init__(self, limiter: StreamLimiter, heads: object) -> None:
        self.limiter = limiter
        self.heads = heads  # the protocol class, whose counters are class-wide

    def collect(self) -> Iterator[Metric]:
        refused = CounterMetricFamily(
            "nowplaying_sse_streams_refused",
            "SSE streams answered 503 by cap (process: MAX_STREAMS, client: "
            "MAX_STREAMS_PER_CLIENT)",
            labels=["cap"],
        )
        for cap in ("process", "client"):
            refused.add_metric([cap], self.limiter.refused[cap])
        yield refused
        yield GaugeMetricFamily(
            "nowplaying_sse_streams_limit",
            "MAX_STREAMS of this process",
            value=self.limiter.per_process,
        )
        heads = CounterMetricFamily(
            "nowplaying_http_heads_refused",
            "Requests refused before the app: head over 16 KiB (431) or not done in time (408)",
            labels=["reason"],
        )
        heads.add_metric(["too_large"], getattr(self.heads, "refused_heads", 0))
        heads.add_metric(["timeout"], getattr(self.heads, "timed_out_heads", 0))
        yield heads
        refusals = CounterMetricFamily(
            "nowplaying_http_refused",
            "Connections and requests refused before the app, by reason (web/http_limits.py)",
            labels=["reason"],
        )
        for reason, count in sorted(getattr(self.heads, "refused", {}).items()):
            refusals.add_metric([reason], count)
        yield refusals
