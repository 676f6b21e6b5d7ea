"""One-time Spotify setup from a deployed instance: `/login?token=ADMIN_TOKEN` and `/callback`.

Both answer 404 while ADMIN_TOKEN is unset. The token in the query and the code in the
callback never reach a log line (shared/logs.py redacts the access log at its logger).
"""

from __future__ import annotations

import hmac
import html
import logging
import math
import time

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from shared import oauth
from shared.config import Settings
from shared.quota_store import keep_setup_pause, setup_reserve
from shared.spotify import (
    InvalidClient,
    InvalidGrant,
    Paused,
    RateLimited,
    SpotifyError,
    token_client,
)
from shared.store import Store
from web.admin_guard import AdminGuard

log = logging.getLogger("nowplaying.web")

# The browser that asked /login carries the state in this cookie to /callback, so a
# callback link made elsewhere (someone else's code and state, sent to the owner: a login
# CSRF that would connect their account) is refused. SameSite=Lax, not Strict: the
# callback is a top-level navigation coming back from Spotify's site.
STATE_COOKIE = "np_oauth_state"
STATE_COOKIE_PATH = "/callback"


def _page(
    title: str, body: str, status: int, headers: dict[str, str] | None = None
) -> HTMLResponse:
    text = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<body style='font-family:system-ui;max-width:36rem;margin:3rem auto;padding:0 1rem'>"
        f"<h1>{html.escape(title)}</h1>{body}</body>"
    )
    return HTMLResponse(text, status, headers={"Cache-Control": "no-store", **(headers or {})})


def _paused_page(exc: Paused) -> Response:
    """The code exchange is a Spotify call: during a pause it is not made."""
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exc.until_s))
    return _page(
        "Spotify calls are paused",
        f"<p>No call to Spotify may be made until {until} ({html.escape(exc.reason)}: "
        "the daily budget or Spotify's quota). Nothing was changed; start again "
        "from /login after that.</p>",
        503,
    )


def _rate_limited_page(exc: RateLimited) -> Response:
    """Spotify answered the code exchange 429 (its rate limit, not the daily quota): no
    Spotify call until its Retry-After has passed (30 s without one)."""
    wait = max(1, math.ceil(exc.until_s - time.time()))
    until = time.strftime("%H:%M:%S UTC", time.gmtime(exc.until_s))
    return _page(
        "Spotify is rate-limiting",
        f"<p>Spotify answered the code exchange with its rate limit (429): no call to "
        f"Spotify is made until {until} (in {wait} s). Nothing was changed; try again "
        "later from /login.</p>",
        503,
        {"Retry-After": str(wait)},
    )


class Setup:
    def __init__(
        self, settings: Settings, store: Store, http: httpx.AsyncClient, admin: AdminGuard
    ) -> None:
        self.settings = settings
        self.admin = admin
        self.store = store
        self.http = http
        # One accounts client for every /callback of this process: a 429's Retry-After
        # closes its gate, as the poller's client keeps its own, so a retry during it makes
        # no call. Each call is first recorded in the shared budget (setup_reserve).
        self.client = token_client(http, settings.accounts_url)
        self.client.reserve = setup_reserve(store, settings.daily_budget)

    async def login(self, request: Request) -> Response:
        if not self.settings.admin_token:
            return Response("Not Found", 404)
        refused = self.admin.refuse(request)  # throttled per address, logged
        if refused is not None:
            return refused
        return await self.authorize(request)

    async def authorize(self, request: Request | None = None) -> Response:
        """The redirect to Spotify's consent page (a new PKCE pair and state, the state
        also in a cookie for /callback), or why not; for /login after its token check,
        and for /admin's reconnect button."""
        if self.settings.missing_client() or not self.settings.client_id:
            return _page(
                "Not configured",
                "<p>Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET first.</p>",
                503,
            )
        problem = oauth.redirect_uri_problem(self.settings.redirect_uri)
        if problem:
            return _page(
                "Redirect URI", f"<p>SPOTIFY_REDIRECT_URI: {html.escape(problem)}</p>", 503
            )
        verifier, challenge = oauth.pkce_pair()
        state = oauth.new_state()
        await self.store.save_oauth_state(state, {"verifier": verifier}, oauth.STATE_TTL_S)
        url = oauth.authorize_url(
            self.settings.accounts_url,
            self.settings.client_id,
            self.settings.redirect_uri,
            state,
            challenge,
        )
        response = RedirectResponse(url, 302, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=oauth.STATE_TTL_S,
            path=STATE_COOKIE_PATH,
            secure=self._secure(request),
            httponly=True,
            samesite="lax",
        )
        return response

    def _secure(self, request: Request | None) -> bool:
        """Secure when the callback is on https (the redirect URI says so) or this request
        came over https (directly, or through a trusted proxy that says so)."""
        over_https = request is not None and request.url.scheme == "https"
        return over_https or self.settings.redirect_uri.lower().startswith("https:")

    async def callback(self, request: Request) -> Response:
        if not self.settings.admin_token:
            return Response("Not Found", 404)
        response = await self._callback(request)
        # Whatever the outcome, the state is used up (or was never this browser's).
        response.delete_cookie(STATE_COOKIE, path=STATE_COOKIE_PATH, httponly=True, samesite="lax")
        return response

    async def _callback(self, request: Request) -> Response:
        q = request.query_params
        state = q.get("state", "")
        if (
            not hmac.compare_digest(request.cookies.get(STATE_COOKIE, "").encode(), state.encode())
            or not state
        ):
            return _page(
                "Sign-in state does not match",
                "<p>The <code>state</code> of this callback is not the one this browser "
                "was given by /login (another browser or address, cookies blocked, or a "
                "link made by someone else). Nothing was changed; start again from "
                "/login in this browser, on the address of SPOTIFY_REDIRECT_URI.</p>",
                400,
            )
        record = await self.store.consume_oauth_state(state) if 8 <= len(state) <= 128 else None
        if record is None:
            return _page(
                "Invalid or expired link",
                "<p>This sign-in link is unknown, used or "
                "older than 10 minutes. Start again from /login.</p>",
                400,
            )
        if q.get("error"):
            reason = "You declined access" if q["error"] == "access_denied" else "Spotify said no"
            return _page(
                reason,
                f"<p>Spotify answered <code>{html.escape(q['error'])}</code>. "
                "Nothing was changed; start again from /login when you are ready.</p>",
                400,
            )
        code = q.get("code")
        if not code or not self.settings.client_id or not self.settings.client_secret:
            return _page("Missing code", "<p>The callback carried no code.</p>", 400)
        try:
            grant = await self.client.exchange_code(
                self.settings.client_id,
                self.settings.client_secret,
                code,
                self.settings.redirect_uri,
                record["verifier"],
            )
        except Paused as exc:
            return _paused_page(await keep_setup_pause(self.store, exc, self.settings.daily_budget))
        except RateLimited as exc:
            log.warning("Spotify answered the code exchange 429: no calls until its Retry-After")
            return _rate_limited_page(exc)
        except InvalidClient:
            return _page(
                "Invalid client",
                "<p>Spotify refused the client id or secret: check "
                "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET.</p>",
                502,
            )
        except (InvalidGrant, SpotifyError):
            return _page(
                "Code rejected",
                "<p>Spotify did not accept the code (expired or "
                "already used). Start again from /login.</p>",
                502,
            )
        if not grant.refresh_token:
            return _page("No refresh token", "<p>Spotify sent no refresh token.</p>", 502)
        await self.store.save_authorization(
            grant.refresh_token,
            now_ms=int(time.time() * 1000),
            env_token=self.settings.refresh_token,
        )
        log.info("a new Spotify refresh token was stored through /callback")
        return _page(
            "Connected",
            "<p>Your Spotify account is connected. The poller uses the "
            "new token on its next poll. You can close this page.</p>",
            200,
        )
