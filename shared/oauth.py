"""The pieces of Spotify's authorization-code flow both setup paths share.

Pure apart from `exchange_code` (one POST): validating the redirect URI against
Spotify's 2025 rules, PKCE, the authorize URL, and the state that binds a callback to
the request that started it.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from urllib.parse import urlencode, urlsplit

import httpx

from poller.spotify import SpotifyClient, TokenGrant, basic_auth

SCOPES = "user-read-currently-playing user-read-recently-played"
STATE_TTL_S = 600


def redirect_uri_problem(uri: str) -> str | None:
    """Why Spotify would refuse `uri` as a redirect URI, with the fix; None when fine."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return f"{uri!r} is not an http(s) URL"
    if host == "localhost":
        port = f":{parts.port}" if parts.port else ""
        fixed = f"{parts.scheme}://127.0.0.1{port}{parts.path}"
        return (
            f"Spotify refuses 'localhost' in redirect URIs since 2025: use {fixed} "
            "(and register exactly that in the Spotify dashboard)"
        )
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return (
                f"{uri!r} uses http: Spotify allows http only for a loopback IP "
                "(http://127.0.0.1:PORT or http://[::1]:PORT); use https otherwise"
            )
    return None


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(
    accounts_url: str, client_id: str, redirect_uri: str, state: str, challenge: str
) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge_method": "S256",
            "code_challenge": challenge,
        }
    )
    return f"{accounts_url}/authorize?{query}"


async def exchange_code(
    spotify: SpotifyClient,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> TokenGrant:
    """Trade the code for tokens: client secret in Basic auth, PKCE verifier on top."""
    request = spotify.http.build_request(
        "POST",
        f"{spotify.accounts_url}/api/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        headers={"Authorization": basic_auth(client_id, client_secret)},
    )
    return await spotify.token_request(request)


def token_client(http: httpx.AsyncClient, accounts_url: str) -> SpotifyClient:
    import time

    return SpotifyClient(http=http, accounts_url=accounts_url, api_url="", clock=time.time)
