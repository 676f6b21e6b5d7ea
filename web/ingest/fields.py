"""Typed reads of one JSON field each, for the ingest's own shapes (/api/ingest, Web
Scrobbler's webhook): Malformed names the field. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from shared.document import MAX_MS, Image
from shared.pushed import ARTISTS_LIMIT, URL_LIMIT, cut
from web.ingest.submission import Malformed

ImageCheck = Callable[[str], bool]  # whether the art policy lets the server fetch this URL
_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def obj(value: object, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{field} must be a JSON object")
    return value


def text(data: dict[str, Any], key: str, field: str) -> str | None:
    """A string field, cleaned and cut; None when absent, null or blank."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{field} must be a string")
    return cut(value) or None


def flag(data: dict[str, Any], key: str, field: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise Malformed(f"{field} must be true or false")


def number_ms(data: dict[str, Any], key: str, field: str, factor: float = 1) -> int | None:
    """A non-negative duration or position (given in ms, or in s with factor 1000)."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise Malformed(f"{field} must be a number")
    ms = value * factor
    if ms < 0 or ms > MAX_MS / 1000:
        raise Malformed(f"{field} is out of range")
    return int(ms)


def artists(value: object, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise Malformed(f"{field} must be a list of strings")
    names = [n for n in (cut(a) for a in value[:ARTISTS_LIMIT]) if n]
    if not names:
        raise Malformed(f"{field} must name at least one artist")
    return names


def url(data: dict[str, Any], key: str, field: str) -> str | None:
    """An http(s) link; anything else that is a string is dropped, a non-string refused."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{field} must be a string")
    ok = len(value) <= URL_LIMIT and value.isprintable() and _HTTP_URL.match(value)
    return value if ok and _parses(value) else None


def _parses(value: str) -> bool:
    """Whether urllib can split it (an unclosed IPv6 bracket, a port past 65535: no)."""
    try:
        _ = urlsplit(value).port
    except ValueError:
        return False
    return True


def required_url(data: dict[str, Any], key: str, field: str) -> str | None:
    """An http(s) link the sender vouches for (the plain route's own shape): anything else
    that is a string is refused, naming the field."""
    value = data.get(key)
    if url(data, key, field) is None and value is not None:
        raise Malformed(f"{field} must be an http(s) URL")
    return value


def https_image(data: dict[str, Any], key: str, field: str, allowed: ImageCheck) -> list[Image]:
    """Art in the plain route's own shape, which says https: anything else that is a
    string is refused, naming the field; an https image on a host the art policy does
    not accept is none (which hosts it takes is the instance's choice, not the sender's)."""
    value = required_url(data, key, field)
    if value is not None and not value.lower().startswith("https://"):
        raise Malformed(f"{field} must be an https URL")
    return image(data, key, field, allowed)


def image(data: dict[str, Any], key: str, field: str, allowed: ImageCheck) -> list[Image]:
    """Pushed art: an https image on a host the art policy accepts, else none."""
    value = url(data, key, field)
    if value is None or not value.lower().startswith("https://") or not allowed(value):
        return []
    return [{"url": value, "width": None, "height": None}]
