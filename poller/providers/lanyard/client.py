"""HTTP calls to Lanyard's `GET /v1/users/<id>`, and nothing else.

From Lanyard's README and source (https://github.com/Phineas/lanyard: lib/api/util.ex,
lib/presence/presence.ex): a monitored user is 200 `{"success": true, "data": {...}}`; a
user who is not a member of Lanyard's Discord server is 404 `{"success": false, "error":
{"code": "user_not_monitored", "message": ...}}`; a crash is 500 with a plain-text body.
Lanyard documents no rate limit; api.lanyard.rest sits behind a proxy that may answer 429
or 5xx, so a `Retry-After` is honoured when given, capped at MAX_WAIT_S, and no call is
made until it has passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from poller.source import SourceError
from shared import setup_errors
from shared.json_object import json_object

DEFAULT_WAIT_S = 30.0  # a 429 without Retry-After
MAX_WAIT_S = 300.0  # the longest a Retry-After may keep the source from asking


def retry_after(headers: httpx.Headers) -> float | None:
    """`Retry-After` in seconds (delta form), capped at MAX_WAIT_S; None when absent."""
    raw = headers.get("retry-after", "").strip()
    try:
        value = float(raw)
    except ValueError:
        return None
    return min(max(0.0, value), MAX_WAIT_S) if value == value else None


def not_monitored(user: str) -> SourceError:
    advice = setup_errors.ADVICE[setup_errors.LANYARD_USER_NOT_MONITORED]
    message = f"Lanyard does not monitor Discord user {user}. Fix: {advice.action}"
    return SourceError("config", message, cause=setup_errors.LANYARD_USER_NOT_MONITORED)


@dataclass
class LanyardClient:
    http: httpx.AsyncClient
    api_url: str
    user_id: str
    clock: Callable[[], float]
    blocked_until_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    async def presence(self) -> dict[str, Any]:
        """The JSON body of a monitored user's presence; a SourceError for everything else."""
        if self.clock() < self.blocked_until_s:
            wait = self.blocked_until_s - self.clock()
            raise SourceError("rate_limited", "Lanyard rate limit: waiting", wait)
        url = f"{self.api_url.rstrip('/')}/v1/users/{quote(self.user_id, safe='')}"
        try:
            response = await self.http.get(url)
        except httpx.TimeoutException:
            self.calls["users:timeout"] += 1
            raise SourceError("unavailable", "Lanyard did not answer in time") from None
        except httpx.HTTPError as exc:
            self.calls["users:error"] += 1
            name = type(exc).__name__
            raise SourceError("unavailable", f"Lanyard unreachable ({name})") from None
        status = response.status_code
        self.calls[f"users:{status}"] += 1
        body = json_object(response.content)
        if status == 429:
            wait = retry_after(response.headers) or DEFAULT_WAIT_S
            self.blocked_until_s = max(self.blocked_until_s, self.clock() + wait)
            raise SourceError("rate_limited", f"Lanyard answered 429: waiting {wait:.0f} s", wait)
        if body is not None and body.get("success") is False:
            code = _dict(body.get("error")).get("code")
            if code == "user_not_monitored":
                raise not_monitored(self.user_id)
            raise SourceError("unavailable", f"Lanyard answered {status} ({_name(code)})")
        if status != 200:
            later = retry_after(response.headers) if status >= 500 else None
            raise SourceError("unavailable", f"Lanyard answered HTTP {status}", later)
        data = body.get("data") if body is not None else None
        if body is None or body.get("success") is not True or not isinstance(data, dict):
            raise SourceError("unavailable", "Lanyard sent a malformed answer")
        return body

    def take_calls(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _name(code: object) -> str:
    """An error code fit for a log line: short, letters and underscores only."""
    text = code if isinstance(code, str) else "no code"
    return "".join(c for c in text[:40] if c.isalnum() or c in "_ ") or "no code"
