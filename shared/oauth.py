"""The pieces of Spotify's authorization-code flow both setup paths share.

Pure: validating the redirect URI against Spotify's 2025 rules, PKCE, the authorize URL,
and the state that binds a callback to the request that started it. The code exchange
itself (one POST) is `shared.spotify.SpotifyClient.exchange_code`.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from urllib.parse import urlencode, urlsplit

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
