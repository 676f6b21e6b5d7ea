"""What the simulator's control routes accept: bounded bodies and typed fields, checked.

`nowplaying simulator` listens on a socket, so whatever reaches `/_sim/*` or the token
endpoint is checked here first: a body past 64 KiB is refused while it is read, a field of
the wrong type or out of range is a 400 that names it, and the fault queue is capped. A
float `index` once made every later poll raise; 4 MB bodies took the process to 500 MB.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

MAX_BODY = 64 * 1024
MAX_FAULTS = 100
MODES = ("playing", "paused", "stopped", "ad")
ENDPOINTS = ("token", "currently-playing", "recently-played", "any")
CONSENTS = ("approve", "deny")


class BadInput(ValueError):
    """A 4xx: `status` and the message to send back."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, read no further than `limit` bytes (413 past it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BadInput(f"body larger than {limit} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadInput(f"body larger than {limit} bytes", 413)
    return bytes(body)


async def read_json(request: Request) -> dict[str, Any]:
    """A JSON object body ({} when empty)."""
    raw = await read_body(request)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise BadInput("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadInput("body must be a JSON object")
    return body


def integer(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    """An optional whole number in [low, high]; a bool or a float is refused."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return value


def number(body: Mapping[str, Any], name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadInput(f"{name} must be a number from {low:g} to {high:g}")
    return float(value)


def choice(body: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise BadInput(f"{name} must be one of: {', '.join(allowed)}")
    return str(value)


def flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false")
    return value


def text(body: Mapping[str, Any], name: str, longest: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= longest:
        raise BadInput(f"{name} must be a string of 1 to {longest} characters")
    return value


def text_list(body: Mapping[str, Any], name: str, most: int, longest: int) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > most:
        raise BadInput(f"{name} must be a list of at most {most} strings")
    return [t for t in (text({"item": v}, "item", longest) for v in value) if t is not None]


def fault_list(body: Mapping[str, Any], queued: int) -> list[dict[str, Any]]:
    """The faults of a POST /_sim/faults body (one fault, or {"faults": [...]})."""
    raw = body.get("faults", [body])
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise BadInput("faults must be a list of objects")
    if queued + len(raw) > MAX_FAULTS:
        raise BadInput(f"at most {MAX_FAULTS} faults may be queued")
    faults = []
    for f in raw:
        faults.append(
            {
                "endpoint": choice(f, "endpoint", ENDPOINTS) or "any",
                "status": integer(f, "status", 100, 599) or 500,
                "times": integer(f, "times", 1, 100_000) or 1,
                "retry_after": integer(f, "retryAfter", 0, 172_800),
                "delay_s": number(f, "delay", 0, 30) or 0.0,
                "malformed": flag(f, "malformed") or False,
                "error": text(f, "error", 64),
                "message": text(f, "message", 256),
                "reason": text(f, "reason", 64),
            }
        )
    return faults


def quota(body: Mapping[str, Any]) -> tuple[int | None, int] | None:
    """`{"quota": {"limit": N, "window": s}}` of POST /_sim/config: (limit, window), a null
    limit or quota turning it off; None when the body does not mention it."""
    if "quota" not in body:
        return None
    raw = body["quota"] or {}
    if not isinstance(raw, dict):
        raise BadInput("quota must be an object")
    return integer(raw, "limit", 1, 10_000_000), integer(raw, "window", 1, 30 * 86_400) or 86_400
