"""CORS_ORIGINS entries in the exact form a browser sends in `Origin`.

A browser's Origin is `scheme://host[:port]`: lower case, no default port, no path, no
trailing slash. An entry written any other way never matches, and CORS silently stays
closed, so each entry is normalized here, or refused when no Origin could ever match it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(entry: str) -> str:
    """The canonical origin for `entry`, or ValueError saying why none can match it."""
    value = entry.strip()
    if value == "*":
        return value
    parts = urlsplit(value.rstrip("/") if value.count("/") == 3 else value)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"{entry!r} is not '*' or an http(s) origin")
    if parts.path or parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError(f"{entry!r} has a path, query or fragment; an origin has none")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{entry!r} has user information; an origin has none")
    host = (parts.hostname or "").lower()
    if not host or "*" in host or any(c.isspace() for c in host):
        raise ValueError(f"{entry!r} has no usable host (wildcards match no origin)")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{entry!r} has an invalid port") from None
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        shown += f":{port}"
    return f"{scheme}://{shown}"
