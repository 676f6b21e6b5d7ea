"""`nowplaying auth`: connect a Spotify account from a terminal in one step.

Checks the configuration, pre-flights the authorize URL (Spotify answers a bad client id
or an unregistered redirect URI with an error page and never redirects, so waiting would
only end in a time-out), listens once on the redirect URI's host and port, exchanges the
code with the client secret and PKCE, prints the `.env` block, and stores the refresh
token in Redis when REDIS_URL is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
import webbrowser
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httpx
from redis.exceptions import RedisError

from shared import oauth
from shared.config import ConfigError, Settings
from shared.quota_store import keep_setup_pause, setup_reserve
from shared.spotify import (
    InvalidClient,
    InvalidGrant,
    Paused,
    RateLimited,
    SpotifyError,
    TokenGrant,
    token_client,
)
from shared.store import Store, connect


class AuthFailed(Exception):
    """A failure the user can act on; str() is the message."""


@dataclass
class Callback:
    params: dict[str, str]


def _page(title: str, text: str) -> bytes:
    body = (
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<body style='font-family:system-ui;margin:3rem'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p>"
    ).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


async def _listen(
    host: str, port: int, path: str
) -> tuple[asyncio.Server, asyncio.Future[Callback]]:
    loop = asyncio.get_running_loop()
    result: asyncio.Future[Callback] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), 5)).decode("latin-1")
            parts = line.split()
            target = urlsplit(parts[1]) if len(parts) >= 2 else None
            if target is None or target.path != path:
                writer.write(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            params = dict(parse_qsl(target.query))
            if "error" in params:
                writer.write(
                    _page("Not connected", "You can close this tab and return to the terminal.")
                )
            else:
                writer.write(
                    _page("Connected", "Done: return to the terminal. You can close this tab.")
                )
            if not result.done():
                result.set_result(Callback(params))
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            with contextlib.suppress(Exception):
                await writer.drain()
                writer.close()

    listen_host = host.strip("[]")
    try:
        server = await asyncio.start_server(handle, listen_host, port)
    except OSError as exc:
        raise AuthFailed(
            f"cannot listen on {host}:{port} ({exc.strerror}): the port is in use. Stop what uses "
            "it (a running `nowplaying run`?) or change SPOTIFY_REDIRECT_URI's port, both here "
            "and in the Spotify dashboard."
        ) from None
    return server, result


async def _preflight(http: httpx.AsyncClient, url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        response = await http.get(url, follow_redirects=False, timeout=5)
        text = response.text if response.status_code >= 400 else ""
        if "redirect uri" in text.lower():
            raise AuthFailed(
                "Spotify says the redirect URI is not registered: add it exactly as "
                "SPOTIFY_REDIRECT_URI says (scheme, host, port, path) in the app's settings "
                "on the Spotify developer dashboard."
            )
        if "invalid_client" in text.lower() or "invalid client" in text.lower():
            raise AuthFailed(
                "Spotify does not know this SPOTIFY_CLIENT_ID: copy it again from "
                "the developer dashboard."
            )


async def _exchange(
    http: httpx.AsyncClient, settings: Settings, code: str, verifier: str
) -> TokenGrant:
    """The code exchange; with REDIS_URL it is a call of the shared daily budget (recorded
    first, refused during a pause), as every Spotify call is."""
    assert settings.client_id and settings.client_secret
    client = token_client(http, settings.accounts_url)
    store = (
        Store(connect(settings.redis_url), settings.redis_prefix) if settings.redis_url else None
    )
    if store is not None:
        client.reserve = setup_reserve(store, settings.daily_budget)
    try:
        return await client.exchange_code(
            settings.client_id, settings.client_secret, code, settings.redirect_uri, verifier
        )
    except Paused as exc:
        if store is None:
            raise
        try:  # Spotify's QUOTA_EXCEEDED holds for the poller too: kept in Redis
            kept = await keep_setup_pause(store, exc, settings.daily_budget)
        except RedisError:
            raise exc from None
        raise kept from None
    finally:
        if store is not None:
            await store.close()


async def run_auth(settings: Settings, *, open_browser: bool, timeout_s: float) -> str:
    """The whole flow; returns the refresh token, raises AuthFailed with the reason."""
    assert settings.client_id and settings.client_secret
    parts = urlsplit(settings.redirect_uri)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    verifier, challenge = oauth.pkce_pair()
    state = oauth.new_state()
    url = oauth.authorize_url(
        settings.accounts_url, settings.client_id, settings.redirect_uri, state, challenge
    )
    async with httpx.AsyncClient(timeout=10) as http:
        await _preflight(http, url)
        server, result = await _listen(host, port, parts.path or "/")
        try:
            print("Open this URL in a browser and allow access:\n", flush=True)
            print(f"  {url}\n", flush=True)
            if open_browser:
                with contextlib.suppress(Exception):
                    webbrowser.open(url)
            print(
                f"Waiting for Spotify to redirect to {settings.redirect_uri} "
                f"(up to {timeout_s:.0f} s)…",
                flush=True,
            )
            try:
                callback = await asyncio.wait_for(result, timeout_s)
            except TimeoutError:
                raise AuthFailed(
                    f"no answer within {timeout_s:.0f} s. If the browser showed 'INVALID_CLIENT: "
                    "Invalid redirect URI', register SPOTIFY_REDIRECT_URI exactly in the Spotify "
                    "dashboard; then run `nowplaying auth` again."
                ) from None
        finally:
            server.close()
        params = callback.params
        if params.get("state") != state:
            raise AuthFailed("the callback's state does not match this request: start again")
        if params.get("error"):
            if params["error"] == "access_denied":
                raise AuthFailed("access was denied in the browser; nothing was changed")
            raise AuthFailed(f"Spotify answered error={params['error']}")
        code = params.get("code")
        if not code:
            raise AuthFailed("the callback carried no code")
        try:
            grant = await _exchange(http, settings, code, verifier)
        except Paused as exc:
            until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exc.until_s))
            raise AuthFailed(
                f"no Spotify call may be made until {until} ({exc.reason}: the daily budget "
                "or Spotify's quota); run `nowplaying auth` again after that"
            ) from None
        except RedisError as exc:
            raise AuthFailed(
                f"Redis at REDIS_URL did not answer ({type(exc).__name__}): the code exchange "
                "is a call of the daily budget counted there, so it was not made; start Redis "
                "(or correct REDIS_URL) and run `nowplaying auth` again"
            ) from None
        except RateLimited as exc:
            until = time.strftime("%H:%M:%S UTC", time.gmtime(exc.until_s))
            raise AuthFailed(
                f"Spotify rate-limited the code exchange (429): no call until {until}; "
                "try again later with `nowplaying auth`"
            ) from None
        except InvalidClient:
            raise AuthFailed(
                "Spotify refused the client credentials: check "
                "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"
            ) from None
        except InvalidGrant as exc:
            raise AuthFailed(
                f"Spotify refused the code ({exc}); run `nowplaying auth` again"
            ) from None
        except SpotifyError as exc:
            raise AuthFailed(f"the token exchange failed ({exc}); try again") from None
    if not grant.refresh_token:
        raise AuthFailed("Spotify sent no refresh token")
    return grant.refresh_token


def auth_main(settings: Settings, *, open_browser: bool, timeout_s: float) -> int:
    settings.require_client("required: copy it from your app on the Spotify developer dashboard")
    problem = oauth.redirect_uri_problem(settings.redirect_uri)
    if problem:
        raise ConfigError("SPOTIFY_REDIRECT_URI", problem)
    parts = urlsplit(settings.redirect_uri)
    if parts.scheme == "https":
        raise ConfigError(
            "SPOTIFY_REDIRECT_URI",
            "an https redirect URI points at a deployed "
            "instance: open /login?token=<ADMIN_TOKEN> there instead, or use "
            "http://127.0.0.1:8000/callback for the terminal flow",
        )
    try:
        refresh = asyncio.run(run_auth(settings, open_browser=open_browser, timeout_s=timeout_s))
    except AuthFailed as exc:
        print(f"nowplaying auth: {exc}", flush=True)
        return 1
    stored = ""
    if settings.redis_url:

        async def store_it() -> None:
            store = Store(connect(settings.redis_url), settings.redis_prefix)
            try:
                await store.save_authorization(
                    refresh, now_ms=int(time.time() * 1000), env_token=settings.refresh_token
                )
            finally:
                await store.close()

        try:
            asyncio.run(store_it())
            stored = "\nStored in Redis: a running poller uses it on its next poll."
        except Exception as exc:
            stored = f"\nCould not store it in Redis ({type(exc).__name__}): use the .env block."
    print("\nConnected. Put this in your .env (keep SPOTIFY_CLIENT_SECRET as it is):\n")
    print(f"SPOTIFY_CLIENT_ID={settings.client_id}")
    print(f"SPOTIFY_REFRESH_TOKEN={refresh}")
    print(f"SPOTIFY_REDIRECT_URI={settings.redirect_uri}")
    print(
        f"{stored}\nThe token expires six months from now; run `nowplaying auth` again then.",
        flush=True,
    )
    return 0
