"""HTTP calls to ListenBrainz's playing-now and listens endpoints, and nothing else.

From ListenBrainz's documentation: https://listenbrainz.readthedocs.io/en/latest/users/api/
(rate limiting: every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
`X-RateLimit-Reset-In` (seconds, recommended over `X-RateLimit-Reset`), 429 when exceeded;
a user token goes in `Authorization: Token <token>`) and .../api/core.html
(`GET /1/user/<user>/playing-now`, `GET /1/user/<user>/listens?count=N`, 404 for an
unknown user). When the window is used up, no call is made until it resets.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from poller.source import SourceError

DEFAULT_RESET_S = 10.0
TOKEN_PAGE = "https://listenbrainz.org/settings/"


def reset_in(headers: httpx.Headers) -> float:
    """`X-RateLimit-Reset-In` in seconds; a short default when absent or unreadable."""
    try:
        value = float(headers.get("x-ratelimit-reset-in", ""))
    except ValueError:
        return DEFAULT_RESET_S
    return value if 0 <= value < 3600 else DEFAULT_RESET_S


@dataclass
class ListenBrainzClient:
    http: httpx.AsyncClient
    api_url: str
    user: str
    token: str | None
    clock: Callable[[], float]
    blocked_until_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    async def playing_now(self) -> dict[str, Any]:
        return await self._get("playing-now", {})

    async def listens(self, count: int = 1) -> dict[str, Any]:
        return await self._get("listens", {"count": str(count)})

    async def _get(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        if self.clock() < self.blocked_until_s:
            wait = self.blocked_until_s - self.clock()
            raise SourceError("rate_limited", "ListenBrainz rate limit: waiting", wait)
        url = f"{self.api_url.rstrip('/')}/1/user/{quote(self.user, safe='')}/{endpoint}"
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        try:
            response = await self.http.get(url, params=params, headers=headers)
        except httpx.TimeoutException:
            self.calls[f"{endpoint}:timeout"] += 1
            raise SourceError("unavailable", "ListenBrainz did not answer in time") from None
        except httpx.HTTPError as exc:
            self.calls[f"{endpoint}:error"] += 1
            name = type(exc).__name__
            raise SourceError("unavailable", f"ListenBrainz unreachable ({name})") from None
        self.calls[f"{endpoint}:{response.status_code}"] += 1
        self._obey(response)
        status = response.status_code
        if status == 429:
            wait = reset_in(response.headers)
            self.blocked_until_s = max(self.blocked_until_s, self.clock() + wait)
            raise SourceError("rate_limited", "ListenBrainz answered 429: waiting", wait)
        if status == 404:
            message = f"ListenBrainz has no user {self.user!r}: check LISTENBRAINZ_USER"
            raise SourceError("config", message)
        if status == 401:
            message = (
                f"ListenBrainz refused LISTENBRAINZ_TOKEN (401): copy it again from {TOKEN_PAGE} "
                "or unset it (reading listens needs no token)"
            )
            raise SourceError("auth", message)
        if status != 200:
            raise SourceError("unavailable", f"ListenBrainz answered HTTP {status}")
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
            raise SourceError("unavailable", "ListenBrainz sent a malformed answer")
        return body

    def _obey(self, response: httpx.Response) -> None:
        """No more calls in this window once `X-RateLimit-Remaining` reaches zero."""
        remaining = response.headers.get("x-ratelimit-remaining")
        if remaining is not None and remaining.strip() == "0":
            until = self.clock() + reset_in(response.headers)
            self.blocked_until_s = max(self.blocked_until_s, until)

    def take_calls(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken
