"""Reading one request header straight from an ASGI scope.

Cheaper than building a Headers object on a route that reads one or two: the JSON route
pays it on every request.
"""

from __future__ import annotations

from starlette.types import Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case, as ASGI gives names), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None
