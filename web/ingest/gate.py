"""What every ingest route checks before it reads a submission: enabled, the token, the size.

- 404 while INGEST_TOKEN is unset, as for a path that does not exist;
- the token compared in constant time (`hmac.compare_digest`) first, so the right token
  always gets in and clears its address's penalty; a wrong one draws from the same kind
  of per-address bucket as ADMIN_TOKEN's (web/admin_guard.py), 429 with Retry-After past it,
  counted in the log per interval, never one line each and never with the guess;
- a body past 64 KiB is 413 from its Content-Length, or as soon as a chunked one passes
  it, never read whole (uvicorn's protocol refuses it even earlier: web/routes.py's
  `body_limit`).

Errors are answered as ListenBrainz answers them, `{"code": N, "error": "..."}`, so its
clients show the message.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from web.admin_guard import AttemptThrottle
from web.refusal_log import RefusalLog
from web.stream_limits import IPV6_PREFIX, client_key

log = logging.getLogger("nowplaying.ingest")

BODY_LIMIT = 64 * 1024


class Refused(Exception):
    """A submission answered with an error instead; nothing was changed."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return error(self.status, self.message, self.headers)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "error": message}, status, headers=headers)


def not_found() -> Response:
    return PlainTextResponse("Not Found", 404)


def header_token(request: Request) -> str | None:
    """The credential of `Authorization: Token X` or `Bearer X` ('' when the header has
    no second part); None without the header."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    _, _, credential = header.strip().partition(" ")
    return credential.strip()


class IngestGate:
    def __init__(
        self,
        token: str | None,
        throttle: AttemptThrottle | None = None,
        ipv6_prefix: int = IPV6_PREFIX,
    ) -> None:
        self.token = token
        self.throttle = throttle or AttemptThrottle()
        self.ipv6_prefix = ipv6_prefix  # CLIENT_IPV6_PREFIX, as for the other caps
        self.refusals = RefusalLog(log, "refused wrong ingest tokens")

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def matches(self, request: Request, given: str) -> bool:
        """Whether `given` is the token; a wrong one counts against the address (429
        once its bucket is empty: raises Refused)."""
        key = client_key(request.client.host if request.client else None, self.ipv6_prefix)
        wait = self.throttle.check(self.token, given, key)
        if wait is None:
            return True
        if wait > 0:
            self.refusals.count("throttled, 429")
            retry = str(int(wait) + 1)
            raise Refused(
                429, f"Too many wrong tokens: try again in {retry} s.", {"Retry-After": retry}
            )
        self.refusals.count("wrong, 401")
        return False

    def authorize(self, request: Request, given: str | None) -> None:
        """401 as ListenBrainz words it for a missing, malformed or wrong token."""
        if given is None:
            raise Refused(401, "You need to provide an Authorization header.")
        if not given:
            raise Refused(401, "Provided Authorization header is invalid.")
        if not self.matches(request, given):
            raise Refused(401, "Invalid authorization token.")


async def read_body(request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The body, at most `limit` bytes: 413 from its Content-Length or as it streams in."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise Refused(413, f"Payload too large: a submission cannot exceed {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"Payload too large: a submission cannot exceed {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def ok(body: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(body or {"status": "ok"})
