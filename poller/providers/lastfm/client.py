"""HTTP calls to Last.fm's `user.getRecentTracks`, and nothing else.

From Last.fm's documentation: https://www.last.fm/api/show/user.getRecentTracks (the
method, `format=json`), https://www.last.fm/api/errorcodes and
https://lastfm-docs.github.io/api-docs/user/getRecentTracks (errors come as
`{"error": N, "message": ...}`, e.g. 404 with 6 for an unknown user, 403 with 17 for a
private history). Last.fm sends no rate-limit headers; error 29 closes our own gate for
RATE_LIMIT_PAUSE_S. The API key travels in the query string, so no URL or httpx message is
ever put into an error or a log line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from poller.source import SourceError
from shared.json_object import json_object

RATE_LIMIT_PAUSE_S = 60.0
KEY_PAGE = "https://www.last.fm/api/account/create"


def error_for(code: int, user: str) -> SourceError:
    """Last.fm's documented error codes as the states the poller shows."""
    if code == 10:
        return SourceError(
            "auth", f"Last.fm does not accept LASTFM_API_KEY (error 10): get a key at {KEY_PAGE}"
        )
    if code == 26:
        return SourceError(
            "auth", "Last.fm suspended LASTFM_API_KEY (error 26): contact Last.fm or use a new key"
        )
    if code == 6:
        return SourceError("config", f"Last.fm has no user {user!r} (error 6): check LASTFM_USER")
    if code == 17:
        return SourceError(
            "config",
            f"Last.fm user {user!r} hides their recent listening (error 17): turn off "
            "'Hide recent listening information' in Last.fm's privacy settings",
        )
    if code == 29:
        return SourceError(
            "rate_limited", "Last.fm rate limit exceeded (error 29): pausing", RATE_LIMIT_PAUSE_S
        )
    if code in (8, 11, 16):
        return SourceError("unavailable", f"Last.fm is temporarily failing (error {code})")
    return SourceError("unavailable", f"Last.fm answered error {code}")


@dataclass
class LastfmClient:
    http: httpx.AsyncClient
    api_url: str
    api_key: str
    user: str
    clock: Callable[[], float]
    blocked_until_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    async def recent_tracks(self, limit: int = 1) -> dict[str, Any]:
        """The JSON body of `user.getRecentTracks`; a SourceError for everything else."""
        if self.clock() < self.blocked_until_s:
            wait = self.blocked_until_s - self.clock()
            raise SourceError("rate_limited", "Last.fm rate limit: waiting", wait)
        params = {
            "method": "user.getrecenttracks",
            "user": self.user,
            "api_key": self.api_key,
            "format": "json",
            "limit": str(limit),
        }
        try:
            response = await self.http.get(self.api_url.rstrip("/") + "/", params=params)
        except httpx.TimeoutException:
            self.calls["recenttracks:timeout"] += 1
            raise SourceError("unavailable", "Last.fm did not answer in time") from None
        except httpx.HTTPError as exc:
            self.calls["recenttracks:error"] += 1
            raise SourceError(
                "unavailable", f"Last.fm unreachable ({type(exc).__name__})"
            ) from None
        self.calls[f"recenttracks:{response.status_code}"] += 1
        body = json_object(response.content)
        code = body.get("error") if body is not None else None
        if isinstance(code, int) and not isinstance(code, bool):
            error = error_for(code, self.user)
            if error.kind == "rate_limited" and error.retry_after_s:
                self.blocked_until_s = self.clock() + error.retry_after_s
            raise error
        if response.status_code == 429:
            self.blocked_until_s = self.clock() + RATE_LIMIT_PAUSE_S
            raise SourceError("rate_limited", "Last.fm answered 429: pausing", RATE_LIMIT_PAUSE_S)
        if response.status_code != 200:
            raise SourceError("unavailable", f"Last.fm answered HTTP {response.status_code}")
        if body is None or not isinstance(body.get("recenttracks"), dict):
            raise SourceError("unavailable", "Last.fm sent a malformed answer")
        return body

    def take_calls(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken
