"""Typed reads of one JSON field each, for the ingest's own shapes (/api/ingest, Web
Scrobbler's webhook): Malformed names the field. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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
    return value if ok else None


def image(data: dict[str, Any], key: str, field: str, allowed: ImageCheck) -> list[Image]:
    """Pushed art: an https image on a host the art policy accepts, else none."""
    value = url(data, key, field)
    if value is None or not value.lower().startswith("https://") or not allowed(value):
        return []
    return [{"url": value, "width": None, "height": None}]
