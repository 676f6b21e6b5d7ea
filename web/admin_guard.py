"""The admin token check of /login, slowed down per client address.

32,695 guesses at 5,400/s were all answered. Failed attempts now draw from a token
bucket per address (IPv6 per CLIENT_IPV6_PREFIX network, /56 unless set): a few mistakes
are free, then one attempt per `refill_s`; past that a wrong token is answered 429 with
Retry-After.

The token is compared first (in constant time), and the throttle is consulted only for
a wrong one: a correct token always gets in and clears its address's penalty. Checking
the throttle first (as before) let one wrong guess every 10 s from the owner's address
(a shared NAT, an untrusted proxy in front) keep the right token out for good. The
price: a hit answers 302 even from a throttled address, so the throttle no longer caps
how fast an attacker who ignores Retry-After can try; what makes guessing hopeless is
the token's length (config refuses fewer than ADMIN_TOKEN_MIN_LENGTH characters). The
throttle still slows anyone who honours Retry-After and keeps the 429s cheap.

Wrong tokens are logged as counts per interval (`RefusalLog`), never one line each (an
attacker would choose how much the log grows) and never with the guess.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.refusal_log import RefusalLog
from web.stream_limits import IPV6_PREFIX, client_key

log = logging.getLogger("nowplaying.web")


class AttemptThrottle:
    """Per-key token buckets of failed attempts; pure apart from the injected clock."""

    def __init__(
        self,
        burst: int = 5,
        refill_s: float = 10.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self.max_keys = max_keys  # oldest buckets are forgotten: memory stays bounded
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def _tokens(self, key: str) -> float:
        tokens, at = self.buckets.get(key, (float(self.burst), self.clock()))
        return min(float(self.burst), tokens + (self.clock() - at) / self.refill_s)

    def retry_after(self, key: str) -> float:
        """0 when `key` may try now, else the seconds until it may."""
        tokens = self._tokens(key)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.refill_s

    def cleared(self, key: str) -> None:
        """A correct token from `key`: its past mistakes no longer count."""
        self.buckets.pop(key, None)

    def failed(self, key: str) -> None:
        self.buckets[key] = (max(0.0, self._tokens(key) - 1), self.clock())
        self.buckets.move_to_end(key)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)

    def check(self, expected: str | None, given: str, key: str) -> float | None:
        """The one token rule of the admin and ingest routes: None for the right token
        (compared first, in constant time, and clearing `key`'s penalty, so a guessing
        neighbour never locks the owner out); else the seconds `key` must wait: 0 when
        this wrong guess was counted, more when the guess was refused unread."""
        if expected and hmac.compare_digest(given.encode(), expected.encode()):
            self.cleared(key)
            return None
        wait = self.retry_after(key)
        if wait <= 0:
            self.failed(key)
        return wait


def _page(title: str, text: str, status: int, headers: dict[str, str]) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><title>" + title + "</title>"
        "<body style='font-family:system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem'>"
        f"<h1>{title}</h1><p>{text}</p></body>"
    )
    return HTMLResponse(body, status, headers={"Cache-Control": "no-store", **headers})


class AdminGuard:
    def __init__(
        self,
        token: str | None,
        throttle: AttemptThrottle | None = None,
        refusals: RefusalLog | None = None,
        ipv6_prefix: int = IPV6_PREFIX,
    ) -> None:
        self.token = token
        self.throttle = throttle or AttemptThrottle()
        self.refusals = refusals or RefusalLog(log, "refused wrong admin tokens")
        self.ipv6_prefix = ipv6_prefix  # CLIENT_IPV6_PREFIX, as for the other caps

    def key(self, request: Request) -> str:
        """The throttle's unit for this request: its address, IPv6 by CLIENT_IPV6_PREFIX."""
        return client_key(request.client.host if request.client else None, self.ipv6_prefix)

    def refuse(self, request: Request) -> Response | None:
        """None when `?token=` is the admin token, else the answer to send instead."""
        given = request.query_params.get("token", "")
        wait = self.throttle.check(self.token, given, self.key(request))
        if wait is None:
            return None
        if wait > 0:
            self.refusals.count("throttled, 429")
            retry = str(int(wait) + 1)
            text = f"Too many wrong tokens from your address: try again in {retry} s."
            return _page("Slow down", text, 429, {"Retry-After": retry})
        self.refusals.count("wrong, 403")
        return _page("Forbidden", "Open /login?token=&lt;ADMIN_TOKEN&gt;.", 403, {})
