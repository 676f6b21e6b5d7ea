"""CORS: one rule for every route the contract lists (web/routes.py says which).

`Cors.headers` is the answer to a simple request, applied by web/headers.py's
`route_headers` to every route, the raw stream (web/sse.py) included, so a page on another
origin sees no difference between them. Preflights are Starlette's.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

Header = tuple[bytes, bytes]
VARY: Header = (b"vary", b"Origin")
ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
ALLOW_HEADERS = ("Last-Event-ID", "If-None-Match", "Cache-Control")
EXPOSE_HEADERS = ("ETag",)
MAX_AGE_S = 600


class Cors:
    def __init__(self, origins: Iterable[str], expose: Iterable[str] = EXPOSE_HEADERS) -> None:
        self.origins = frozenset(origins)
        self.allow_all = "*" in self.origins
        self.expose: list[Header] = [(b"access-control-expose-headers", ", ".join(expose).encode())]

    def headers(self, origin: str | None) -> list[Header]:
        if origin is None:
            return [VARY]
        if self.allow_all:
            return [(b"access-control-allow-origin", b"*"), *self.expose, VARY]
        if origin in self.origins:
            return [(b"access-control-allow-origin", origin.encode("latin-1")), *self.expose, VARY]
        return [VARY]

    def preflight(self, app: ASGIApp) -> CORSMiddleware:
        """Starlette's CORS with the same settings, for its preflight answers."""
        return CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=ALLOW_METHODS,
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            max_age=MAX_AGE_S,
        )
