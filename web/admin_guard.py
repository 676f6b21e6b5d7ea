"""The admin token check of /login, slowed down per client address.

32,695 guesses at 5,400/s were all answered. Failed attempts now draw from a token
bucket per address (IPv6 per /64): a few mistakes are free, then one attempt per
`refill_s`; past that the answer is 429 with Retry-After, without looking at the token.
Only the guesser's own address slows down: the owner elsewhere is never locked out, and
a correct token never costs anything. Each refused token is logged with the address,
never with the guess.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.stream_limits import client_key

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

    def failed(self, key: str) -> None:
        self.buckets[key] = (max(0.0, self._tokens(key) - 1), self.clock())
        self.buckets.move_to_end(key)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)


def _page(title: str, text: str, status: int, headers: dict[str, str]) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><title>" + title + "</title>"
        "<body style='font-family:system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem'>"
        f"<h1>{title}</h1><p>{text}</p></body>"
    )
    return HTMLResponse(body, status, headers={"Cache-Control": "no-store", **headers})


class AdminGuard:
    def __init__(self, token: str | None, throttle: AttemptThrottle | None = None) -> None:
        self.token = token
        self.throttle = throttle or AttemptThrottle()

    def refuse(self, request: Request) -> Response | None:
        """None when `?token=` is the admin token, else the answer to send instead."""
        key = client_key(request.client.host if request.client else None)
        wait = self.throttle.retry_after(key)
        if wait > 0:
            retry = str(int(wait) + 1)
            text = f"Too many wrong tokens from your address: try again in {retry} s."
            return _page("Slow down", text, 429, {"Retry-After": retry})
        given = request.query_params.get("token", "")
        if self.token and hmac.compare_digest(given.encode(), self.token.encode()):
            return None
        self.throttle.failed(key)
        log.warning("refused a wrong admin token on %s from %s", request.url.path, key or "?")
        return _page("Forbidden", "Open /login?token=&lt;ADMIN_TOKEN&gt;.", 403, {})
