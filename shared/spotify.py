"""Every HTTP call to Spotify's accounts service and Web API, and nothing else.

Both sides use it: the poller for the token refresh and the Web API, the setup flows
(`nowplaying auth`, /callback) for the code exchange. Every failure becomes one of a few
exceptions the caller acts on; a 429 closes the gate for every endpoint until Retry-After
has passed, and a closed gate makes no call at all.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_RETRY_AFTER_S = 30.0
MAX_RETRY_AFTER_S = 7 * 86400.0  # sanity cap: a longer Retry-After is taken as this

log = logging.getLogger("nowplaying.spotify")


class SpotifyError(Exception):
    """Base of everything the poller can get back instead of a payload."""


class RateLimited(SpotifyError):
    def __init__(self, until_s: float) -> None:
        super().__init__(f"rate limited until {until_s:.0f}")
        self.until_s = until_s


class Paused(SpotifyError):
    """No call may be made until `until_s`: Spotify's daily quota (QUOTA_EXCEEDED) or our
    own SPOTIFY_DAILY_BUDGET is spent. Raised before any request is sent."""

    def __init__(self, until_s: float, reason: str) -> None:
        super().__init__(f"paused ({reason}) until {until_s:.0f}")
        self.until_s = until_s
        self.reason = reason


class QuotaExceeded(Paused):
    """Spotify answered 429 with reason QUOTA_EXCEEDED: the daily quota, hours long."""

    def __init__(self, until_s: float) -> None:
        super().__init__(until_s, "quota")


class Unauthorized(SpotifyError):
    """The Web API refused the access token (expired or revoked)."""


class InvalidGrant(SpotifyError):
    """The refresh token is revoked or expired: only a new authorization helps."""


class InvalidClient(SpotifyError):
    """The client id or secret is wrong: a configuration problem."""


class Transient(SpotifyError):
    """5xx, timeout, connection error, malformed body: try again later."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # no answer at all (network), not a bad one


class Forbidden(SpotifyError):
    """A Web API 403; `message` is Spotify's text (Development Mode says why in it)."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"{endpoint}: HTTP 403 {message}".strip())
        self.message = message


class NotConnected(SpotifyError):
    """No refresh token yet: Spotify was never asked, an account has to be connected."""


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in_s: int
    refresh_token: str | None


def basic_auth(client_id: str, client_secret: str) -> str:
    """Client credentials as Spotify wants them: HTTP Basic, never in the body."""
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def parse_retry_after(value: str | None) -> float:
    """Seconds from a Retry-After header, however long (Spotify sent 86400 with a
    QUOTA_EXCEEDED body in 2026), capped at 7 days with a warning; 30 when absent,
    unreadable or negative."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S
    if math.isnan(seconds) or seconds < 0:
        return DEFAULT_RETRY_AFTER_S
    if seconds > MAX_RETRY_AFTER_S:
        log.warning(
            "Spotify asked to wait %s s (Retry-After); waiting %.0f s instead, the cap",
            value,
            MAX_RETRY_AFTER_S,
        )
        return MAX_RETRY_AFTER_S
    return seconds


def make_http_client(
    timeout_s: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One client for every Spotify call: keep-alive connections, bounded waits."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=min(3.0, timeout_s)),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
        headers={"User-Agent": "nowplaying/0.1 (+self-hosted)"},
        transport=transport,
    )


def error_message(response: httpx.Response) -> str:
    """Spotify's text for a Web API error: `error.message` of a JSON body (Spotify's
    ErrorObject), else the body itself when it is plain text (Development Mode's 403s are
    `text/plain`), stripped and bounded; "" when there is neither."""
    try:
        body = json.loads(response.content)
    except ValueError:
        text = response.content.decode("utf-8", errors="replace")
        return " ".join(text.split())[:256]
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else ""


def is_quota_exceeded(response: httpx.Response) -> bool:
    """A 429 whose body says `"reason": "QUOTA_EXCEEDED"` (Development Mode's daily
    quota), as opposed to the 30-second rate limit, whose body says no reason."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and error.get("reason") == "QUOTA_EXCEEDED"


Reserve = Callable[[str], Awaitable[None]]


@dataclass
class SpotifyClient:
    """Spotify over one httpx client (connection reuse, timeouts): the 429 gate, the
    budget reservation before each call, QUOTA_EXCEEDED, the errors, and the accounts
    service (token refresh and code exchange) that the poller, `/callback` and
    `nowplaying auth` share. The Web API calls are the poller's:
    poller/providers/spotify/client.py."""

    http: httpx.AsyncClient
    accounts_url: str
    api_url: str
    clock: Callable[[], float]
    blocked_until_s: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    reserve: Reserve | None = None  # records each call in the budget first; may raise Paused

    def _check_gate(self) -> None:
        if self.clock() < self.blocked_until_s:
            raise RateLimited(self.blocked_until_s)

    async def _send(self, endpoint: str, request: httpx.Request) -> httpx.Response:
        self._check_gate()
        if self.reserve is not None:
            await self.reserve(endpoint)
        try:
            response = await self.http.send(request)
        except httpx.TimeoutException:
            self.calls[f"{endpoint}:timeout"] += 1
            raise Transient(f"{endpoint}: timeout", unreachable=True) from None
        except httpx.HTTPError as exc:
            self.calls[f"{endpoint}:error"] += 1
            raise Transient(f"{endpoint}: {type(exc).__name__}", unreachable=True) from None
        self.calls[f"{endpoint}:{response.status_code}"] += 1
        if response.status_code == 429:
            delay = parse_retry_after(response.headers.get("retry-after"))
            self.blocked_until_s = max(self.blocked_until_s, self.clock() + delay)
            if is_quota_exceeded(response):
                raise QuotaExceeded(self.blocked_until_s)
            raise RateLimited(self.blocked_until_s)
        if response.status_code >= 500:
            raise Transient(f"{endpoint}: HTTP {response.status_code}")
        return response

    @staticmethod
    def _json(endpoint: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except ValueError:
            raise Transient(f"{endpoint}: malformed JSON") from None
        if not isinstance(body, dict):
            raise Transient(f"{endpoint}: unexpected JSON")
        return body

    async def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenGrant:
        request = self.http.build_request(
            "POST",
            f"{self.accounts_url}/api/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            headers={"Authorization": basic_auth(client_id, client_secret)},
        )
        return await self.token_request(request)

    async def exchange_code(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str, verifier: str
    ) -> TokenGrant:
        """Trade an authorization code for tokens: client secret in Basic auth, PKCE on top."""
        request = self.http.build_request(
            "POST",
            f"{self.accounts_url}/api/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
            headers={"Authorization": basic_auth(client_id, client_secret)},
        )
        return await self.token_request(request)

    async def token_request(self, request: httpx.Request) -> TokenGrant:
        """Send a token request (either grant) and read the answer."""
        response = await self._send("token", request)
        body = self._json("token", response) if response.content else {}
        if response.status_code in (400, 401):
            error = str(body.get("error", ""))
            description = str(body.get("error_description", ""))
            if error == "invalid_client":
                raise InvalidClient(description or "invalid client")
            if error == "invalid_grant":
                raise InvalidGrant(description or "invalid grant")
            raise InvalidClient(f"{error}: {description}".strip(": "))
        if response.status_code != 200:
            raise Transient(f"token: HTTP {response.status_code}")
        access = body.get("access_token")
        expires = body.get("expires_in", 3600)
        if not isinstance(access, str) or not access or not isinstance(expires, int | float):
            raise Transient("token: malformed answer")
        refresh = body.get("refresh_token")
        return TokenGrant(access, int(expires), refresh if isinstance(refresh, str) else None)

    def take_calls(self) -> Counter[str]:
        """Counts since the last take, for the stats the web app exports."""
        taken, self.calls = self.calls, Counter()
        return taken


def token_client(http: httpx.AsyncClient, accounts_url: str) -> SpotifyClient:
    """A client for the accounts service alone (the setup flows use no Web API)."""
    return SpotifyClient(http=http, accounts_url=accounts_url, api_url="", clock=time.time)
