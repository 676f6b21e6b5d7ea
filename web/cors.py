"""CORS for the two routes served around Starlette's middleware (web/hot.py).

The same answer Starlette's CORSMiddleware gives a simple GET, so that a page on another
origin sees no difference between the hot routes and the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

Header = tuple[bytes, bytes]
VARY: Header = (b"vary", b"Origin")


class Cors:
    def __init__(self, origins: Iterable[str], expose: Iterable[str] = ("ETag",)) -> None:
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
