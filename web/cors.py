"""CORS: one rule for every route the contract lists (web/routes.py says which).

`Cors.headers` is the answer to a simple request, applied by web/headers.py's
`route_headers` to every route, the raw stream (web/sse.py) included, so a page on another
origin sees no difference between them. Preflights are Starlette's: GET and HEAD with
the reading headers for every CORS route, and, for the ones in `post_paths` (push ingest,
while INGEST_TOKEN is set), POST with `Authorization` and `Content-Type` too, so that a
page on an allowed origin can push.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

Header = tuple[bytes, bytes]
VARY: Header = (b"vary", b"Origin")
ALLOW_METHODS = ("GET", "HEAD", "OPTIONS")
ALLOW_HEADERS = ("Last-Event-ID", "If-None-Match", "Cache-Control")
POST_METHODS = (*ALLOW_METHODS, "POST")
POST_HEADERS = (*ALLOW_HEADERS, "Authorization", "Content-Type")
EXPOSE_HEADERS = ("ETag",)
MAX_AGE_S = 600


class Cors:
    def __init__(
        self,
        origins: Iterable[str],
        expose: Iterable[str] = EXPOSE_HEADERS,
        post_paths: Iterable[str] = (),
    ) -> None:
        self.origins = frozenset(origins)
        self.post_paths = frozenset(post_paths)
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

    def preflight(self, app: ASGIApp, *, post: bool = False) -> CORSMiddleware:
        """Starlette's CORS with the same settings, for its preflight answers; `post`:
        the one for `post_paths`."""
        return CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=POST_METHODS if post else ALLOW_METHODS,
            allow_headers=POST_HEADERS if post else ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            max_age=MAX_AGE_S,
        )
