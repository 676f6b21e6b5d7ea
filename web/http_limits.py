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

Also before the app:

- a deadline for the whole request, body included: a request not complete
  `head_timeout_s` after the read that left it incomplete is answered 408 (or, once its
  answer has begun, closed). uvicorn cancels its keep-alive timer on every read and never
  re-arms it while a body is incomplete: 1,300 connections announcing
  `Content-Length: 1000000` and sending a byte every 8 s held every slot for good;
- a body is refused from its head, before a byte of it is read: on GET or HEAD with 400,
  elsewhere with 413 when its Content-Length is past the route's limit (`body_limits`,
  0 for a route not listed: no route of this app takes a body). A chunked body, whose
  size the head does not say, is counted as it arrives and cut at the limit. While
  INGEST_TOKEN is unset (`ingest_disabled`), a body sent to an ingest route is answered
  404 from its head instead, whatever its size: the contract's "ingest disabled" 404
  wins over 413 and 400, as the app answers every ingest request without a body;
- a cap on the connections one client address (IPv6: one CLIENT_IPV6_PREFIX network)
  holds open, checked when the connection is accepted, in front of uvicorn's global cap:
  past it, 503 and closed. A peer in FORWARDED_ALLOW_IPS (the proxy, carrying everyone)
  is not capped here: behind it, the proxy's own limits apply;
- every refusal is counted for /metrics and logged as counts per minute
  (web/refusal_log.py), never one line each;
- a request carrying X-Forwarded-For from a peer not in FORWARDED_ALLOW_IPS is served as
  the peer's (uvicorn ignores the header) and logged at most once per peer per interval
  (`ForwardedLog`): either someone tries to pick their own address past the per-address
  caps, or a real proxy in front is not trusted and every client shares its one address.

Nothing here wraps the app's `send`: the fan-out writes straight into uvicorn's.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import unquote

import httptools
from uvicorn.middleware.proxy_headers import _TrustedHosts
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.config import Settings
from web.cors import Cors, Header
from web.refusal_log import INTERVAL_S, CountingFilter, RefusalLog
from web.routes import BODY_LIMITS, is_ingest_path, policy_for
from web.stream_limits import IPV6_PREFIX, client_key

log = logging.getLogger("nowplaying.web")

MAX_HEAD_BYTES = 16 * 1024
FDS_PER_EXTRA_CONNECTION = 256  # room for non-stream requests beside a full stream cap


def _answer(status: int, reason: str, extra: Sequence[Header] = ()) -> bytes:
    """A refusal written before the app sees the request; it carries the two headers the
    contract puts on every answer, as the app's own answers do (web/routes.py), and
    `extra` (a CORS route's CORS headers, once the head says which route and origin)."""
    body = f"{status} {reason}\n".encode()
    more = b"".join(name + b": " + value + b"\r\n" for name, value in extra)
    return (
        (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            "x-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\n"
        ).encode()
        + more
        + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )


# The refusals, as (status, reason); `_answer` writes one as bytes.
HEAD_TOO_LARGE = (431, "Request Header Fields Too Large")
TIMED_OUT = (408, "Request Timeout")
BAD_REQUEST = (400, "Bad Request")  # a body on GET or HEAD; also an unparsable request
TOO_LARGE_BODY = (413, "Content Too Large")
ABSENT = (404, "Not Found")
UNAVAILABLE = (503, "Service Unavailable")
TOO_LARGE = _answer(*HEAD_TOO_LARGE)
TIMEOUT = _answer(*TIMED_OUT)
BODY_ON_GET = _answer(*BAD_REQUEST)
BUSY = _answer(*UNAVAILABLE)
ORIGIN = b"origin"
BODY_HEADERS = (b"content-length", b"transfer-encoding")
FORWARDED_FOR = b"x-forwarded-for"
CHECKED_HEADERS = (*BODY_HEADERS, FORWARDED_FOR)  # one `in` test per header for all three


class ForwardedLog:
    """X-Forwarded-For from untrusted peers, logged once per peer per `interval_s` with the
    count since that peer's previous line; at most `max_peers` remembered (past that, the
    oldest are forgotten, so a flood from many addresses costs bounded memory)."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_s: float = INTERVAL_S,
        max_peers: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self.max_peers = max_peers
        self.clock = clock
        self.peers: OrderedDict[str, tuple[float, int]] = OrderedDict()  # logged at, since

    def seen(self, peer: str) -> None:
        now = self.clock()
        logged_at, count = self.peers.pop(peer, (None, 0))
        count += 1
        if logged_at is None or now - logged_at >= self.interval_s:
            self.logger.warning(
                "X-Forwarded-For from %s, which is not in FORWARDED_ALLOW_IPS: ignored, the "
                "client address is %s (%d request(s); at most one line per peer per %gs). "
                "If this is your reverse proxy, add its address to FORWARDED_ALLOW_IPS, "
                "else every client behind it shares one address's limits",
                peer,
                peer,
                count,
                self.interval_s,
            )
            logged_at, count = now, 0
        self.peers[peer] = (logged_at, count)
        while len(self.peers) > self.max_peers:
            self.peers.popitem(last=False)


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the request head, a deadline for the
    whole request, refused bodies and a per-address connection cap."""

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout_s = 10.0  # the whole request's deadline, head and body
    body_limits: Mapping[str, int] = {}  # path: largest body in bytes; unlisted: 0
    max_connections_per_client = 0  # 0: no per-address cap
    ingest_disabled = False  # INGEST_TOKEN unset: a body to an ingest route is a 404
    cors: Cors | None = None  # CORS_ORIGINS: on a refusal of a CORS route's parsed head
    ipv6_prefix = IPV6_PREFIX
    trusted: Any = None  # peers exempt from the per-address cap (FORWARDED_ALLOW_IPS)
    open_by_client: ClassVar[Counter[str]] = Counter()  # per configured class (protocol_class)
    refused_heads = 0  # class-wide counters, read by /metrics
    timed_out_heads = 0
    refused: ClassVar[Counter[str]] = Counter()  # by reason, as logged
    refusals = RefusalLog(log, "refused requests before the app")
    forwarded = ForwardedLog(log)  # X-Forwarded-For from untrusted peers

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._in_head = True
        self._head_started = True  # the first head's deadline runs from the connection
        self._head_received = 0  # raw bytes while the head is incomplete
        self._in_body = False  # a body is expected and not complete yet
        self._body_left = 0  # bytes a chunked body may still have
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._client_key: str | None = None
        if self.max_connections_per_client and not self._admit():
            return
        self._arm_head_timer()

    def _admit(self) -> bool:
        """Count this connection against its address; False (and refused) past the cap."""
        host = self.client[0] if self.client else None
        if host is None or (self.trusted is not None and host in self.trusted):
            return True
        key = client_key(host, self.ipv6_prefix)
        if self.open_by_client[key] >= self.max_connections_per_client:
            self._count("per_client_connections")
            self._refuse(BUSY)
            return False
        self.open_by_client[key] += 1
        self._client_key = key
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        key = self._client_key
        if key is not None:
            self._client_key = None
            self.open_by_client[key] -= 1
            if self.open_by_client[key] <= 0:
                del self.open_by_client[key]
        super().connection_lost(exc)

    def _count(self, reason: str) -> None:
        LimitedHttpToolsProtocol.refused[reason] += 1
        LimitedHttpToolsProtocol.refusals.count(reason)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._in_body:  # the body did not arrive in time: end the request
            self._count("body_timeout")
            self._end_request(self._route_answer(TIMED_OUT))
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a stream is being answered: no 408 inside it; keep-alive ends it later
        if self._in_head:
            LimitedHttpToolsProtocol.timed_out_heads += 1
            self._count("head_timeout")
            self._refuse(TIMEOUT)

    def _end_request(self, answer: bytes) -> None:
        """Stop a request cut in its body: `answer` it, or, once the app's answer has
        begun, close the connection (no second status line inside the first answer)."""
        if self.cycle is not None and self.cycle.response_started:
            self._refused = True
            self.transport.close()
        else:
            self._refuse(answer)

    def _refuse(self, answer: bytes) -> None:
        self._refused = True
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _should_upgrade_to_ws(self) -> bool:
        """No route speaks WebSocket: an upgrade request is served as the HTTP request it
        also is, so uvicorn's bare 403 handshake refusal (neither nosniff nor no-referrer)
        is never written."""
        return False

    def _unsupported_upgrade_warning(self) -> None:
        """uvicorn warns twice per upgrade request: a client could fill the log."""

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, with the headers of every answer
        (its own carries neither nosniff nor no-referrer). Garbage pipelined behind an
        answer still being written (an open stream) only closes the connection: a second
        status line inside that answer would corrupt it."""
        self._refuse_between_answers(BODY_ON_GET)

    def _refuse_between_answers(self, answer: bytes) -> None:
        """`_refuse`, unless an answer on this connection is still being written: then
        only close it (no second status line inside the first answer)."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and not cycle.response_complete:
            self._refused = True
            self.transport.close()
        else:
            self._refuse(answer)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_received += len(data)
        super().data_received(data)
        if self._refused:
            return
        if self._in_head and self._head_started:  # head incomplete
            if self._head_received > self.max_head_bytes:
                LimitedHttpToolsProtocol.refused_heads += 1
                self._count("head_too_large")
                self._refuse(TOO_LARGE)
            else:
                self._arm_head_timer()  # a head done in one read never pays for a timer
        elif self._in_body:
            self._arm_head_timer()  # the deadline covers the body (from here, or the head)

    def on_message_begin(self) -> None:
        self._head_started = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._refused:
            return
        size = len(self.url)
        body = False
        for name, value in self.headers:
            size += len(name) + len(value) + 4
            if name in CHECKED_HEADERS:
                if name == FORWARDED_FOR:
                    self._forwarded()
                elif value != b"0":
                    body = True
        if size > self.max_head_bytes:
            LimitedHttpToolsProtocol.refused_heads += 1
            self._count("head_too_large")
            self._refuse(self._route_answer(HEAD_TOO_LARGE))
            return
        if body and not self._allow_body():
            return
        if not self._in_body:
            self._cancel_head_timer()
        if self._over_concurrency():
            self._count("global_cap")
            self._refuse_between_answers(self._route_answer(UNAVAILABLE))
            return
        super().on_headers_complete()

    def _route_answer(self, refusal: tuple[int, str]) -> bytes:
        """`refusal` for a request whose head was read: on a CORS route (web/routes.py)
        with the CORS headers its answers carry, so a page on an allowed origin reads the
        413 or 503 instead of a CORS error. A head cut off while it streams in, or never
        finished, names no route: those answers carry none."""
        if self.cors is None:
            return _answer(*refusal)
        path = self._path()
        if path is None or not policy_for(path).cors:
            return _answer(*refusal)
        origin = next((v.decode("latin-1") for n, v in self.headers if n == ORIGIN), None)
        return _answer(*refusal, self.cors.headers(origin))

    def _path(self) -> str | None:
        """The request's path as the app routes it (percent-decoded, as uvicorn passes
        it on), None when the target has none ("GET http://h")."""
        try:
            raw = httptools.parse_url(self.url).path
        except httptools.HttpParserInvalidURLError:
            return None
        return None if raw is None else unquote(raw.decode("ascii", "replace"))

    def _over_concurrency(self) -> bool:
        """uvicorn's `limit_concurrency` test: past it, uvicorn would answer its own 503,
        without the headers of every answer; BUSY is answered here instead."""
        limit = self.limit_concurrency
        return limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit)

    def _forwarded(self) -> None:
        """X-Forwarded-For arrived: say so when its peer is not trusted (uvicorn's proxy
        middleware then ignores it, and the peer's address is the client's)."""
        host = self.client[0] if self.client else None
        if self.trusted is not None and host is not None and host not in self.trusted:
            self.forwarded.seen(host)

    def _allow_body(self) -> bool:
        """Whether the body this head announces may be read; if not, it is refused."""
        path = self._path() or ""
        if self.ingest_disabled and is_ingest_path(path):
            self._count("ingest_disabled")
            self._refuse(self._route_answer(ABSENT))
            return False
        if self.parser.get_method() in (b"GET", b"HEAD"):
            self._count("body_on_get")
            self._refuse(self._route_answer(BAD_REQUEST))
            return False
        limit = self.body_limits.get(path, 0)
        length = -1  # chunked: counted as it arrives
        for name, value in self.headers:
            if name == b"content-length":
                length = int(value) if value.isdigit() else limit + 1
        if limit <= 0 or length > limit:
            self._count("body_too_large")
            self._refuse(self._route_answer(TOO_LARGE_BODY))
            return False
        self._in_body = True
        self._body_left = limit
        return True

    def on_body(self, body: bytes) -> None:
        if self._refused:
            return
        self._body_left -= len(body)
        if self._body_left < 0:  # a chunked body past the route's limit
            self._count("body_too_large")
            self._end_request(self._route_answer(TOO_LARGE_BODY))
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        if self._in_body:
            self._in_body = False
            self._cancel_head_timer()
        super().on_message_complete()
        self._in_head = True  # what follows on this connection is the next request's head
        self._head_started = False  # ...from its first byte on (on_message_begin)
        self._head_received = 0


def protocol_class(
    max_head_bytes: int,
    head_timeout_s: float,
    *,
    body_limits: Mapping[str, int] | None = None,
    max_connections_per_client: int = 0,
    ipv6_prefix: int = IPV6_PREFIX,
    forwarded_allow_ips: str | None = None,
    ingest_disabled: bool = False,
    cors: Cors | None = None,
) -> type[LimitedHttpToolsProtocol]:
    """The protocol with these limits (uvicorn takes a class, and builds one per socket).
    Each class counts its own open connections per address."""
    attributes = {
        "max_head_bytes": max_head_bytes,
        "head_timeout_s": head_timeout_s,
        "body_limits": dict(body_limits or {}),
        "max_connections_per_client": max_connections_per_client,
        "ipv6_prefix": ipv6_prefix,
        "ingest_disabled": ingest_disabled,
        "cors": cors,
        "trusted": None if forwarded_allow_ips is None else _TrustedHosts(forwarded_allow_ips),
        "open_by_client": Counter(),
    }
    return type("ConfiguredHttpToolsProtocol", (LimitedHttpToolsProtocol,), attributes)


def uvicorn_options(settings: Settings, file_descriptors: int | None = None) -> dict[str, Any]:
    """What `uvicorn.Config` takes to enforce the limits: header size and timeout, the
    connection cap (503 past it, kept 64 below `file_descriptors` so that a full process
    answers 503 instead of resetting connections), and the client address from
    X-Forwarded-For only when the peer is one of FORWARDED_ALLOW_IPS."""
    connections = settings.max_streams + FDS_PER_EXTRA_CONNECTION
    if file_descriptors is not None:
        connections = max(1, min(connections, file_descriptors - 64))
    _count_uvicorn_refusals()
    protocol = protocol_class(
        MAX_HEAD_BYTES,
        settings.header_timeout,
        body_limits=BODY_LIMITS,
        max_connections_per_client=settings.max_connections_per_client,
        ipv6_prefix=settings.client_ipv6_prefix,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ingest_disabled=not settings.ingest_token,
        cors=Cors(settings.cors_origins),
    )
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": connections,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def _count_uvicorn_refusals() -> None:
    """uvicorn logs "Exceeded concurrency limit." once per 503: count those instead."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, CountingFilter) for f in logger.filters):
        refusals = LimitedHttpToolsProtocol.refusals
        logger.addFilter(CountingFilter("Exceeded concurrency limit", refusals, "global_cap"))


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
