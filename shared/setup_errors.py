"""Why the poller cannot get a song, as one cause with one message and the one action that fixes it.

Pure: the poller classifies what Spotify (or the configuration) said into a cause code, puts
the code in its heartbeat, and both its log line and /readyz render the same `Advice`, so the
two never disagree. What must stay true: every cause has exactly one action, and that action
is something the user can do (reconnecting cannot fix a wrong client secret, so the
invalid_client advice never says "reconnect").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

NOT_CONFIGURED: Final = "not_configured"
NO_REFRESH_TOKEN: Final = "no_refresh_token"
INVALID_CLIENT: Final = "invalid_client"
INVALID_GRANT: Final = "invalid_grant"
PREMIUM_REQUIRED: Final = "premium_required"
USER_NOT_REGISTERED: Final = "user_not_registered"
UNREACHABLE: Final = "unreachable"
LANYARD_USER_NOT_MONITORED: Final = "lanyard_user_not_monitored"

# Lanyard's own invite (its root answer's `discord_invite`; the README links the same server).
LANYARD_INVITE: Final = "https://discord.gg/lanyard"

# Spotify's own 403 texts for Development Mode apps (since 2026-02/03).
PREMIUM_TEXT: Final = "Active premium subscription required for the owner of the app"
NOT_REGISTERED_TEXT: Final = "User not registered in the Developer Dashboard"
MAY_NOT_BE_REGISTERED_TEXT: Final = "The user may not be registered."

RECONNECT: Final = "Connect again: run `nowplaying auth`, or open /login?token=<ADMIN_TOKEN>."


@dataclass(frozen=True)
class Advice:
    cause: str
    message: str  # what is wrong, in the user's words
    action: str  # the one thing that fixes it
    connected: bool  # False: no account is connected yet


ADVICE: Final[dict[str, Advice]] = {
    NOT_CONFIGURED: Advice(
        NOT_CONFIGURED,
        "Not connected: no Spotify app is configured, so the poller waits and polls nothing.",
        "Set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (from your app at "
        "https://developer.spotify.com/dashboard) in .env, restart, then run `nowplaying auth`.",
        False,
    ),
    NO_REFRESH_TOKEN: Advice(
        NO_REFRESH_TOKEN,
        "Not connected yet: the Spotify app is configured but no account has been connected.",
        "Connect your account: run `nowplaying auth`, or open /login?token=<ADMIN_TOKEN>.",
        False,
    ),
    INVALID_CLIENT: Advice(
        INVALID_CLIENT,
        "Spotify rejected the app's credentials (invalid_client): the client id or secret "
        "is wrong.",
        "Copy SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET again from the app's settings at "
        "https://developer.spotify.com/dashboard, then restart the poller.",
        True,
    ),
    INVALID_GRANT: Advice(
        INVALID_GRANT,
        "Spotify no longer accepts the refresh token (invalid_grant): it was revoked, or it "
        "expired six months after authorization. The token is kept; retrying every 5 minutes.",
        RECONNECT,
        True,
    ),
    PREMIUM_REQUIRED: Advice(
        PREMIUM_REQUIRED,
        f'Spotify answered 403 "{PREMIUM_TEXT}": a Development Mode app stops when its '
        "owner has no Premium.",
        "Renew Spotify Premium on the account that owns the app in the Developer Dashboard; "
        "the poller recovers within 5 minutes.",
        True,
    ),
    USER_NOT_REGISTERED: Advice(
        USER_NOT_REGISTERED,
        f'Spotify answered 403 "{NOT_REGISTERED_TEXT}": the connected account is not on the '
        "app's user list.",
        "Add the connected account's name and email under User Management in the app's "
        "settings at https://developer.spotify.com/dashboard; the poller recovers within "
        "5 minutes.",
        True,
    ),
    UNREACHABLE: Advice(
        UNREACHABLE,
        "Spotify is unreachable from the poller (connection failed or timed out); retrying "
        "with backoff.",
        "Check that the poller's host can reach api.spotify.com and accounts.spotify.com "
        "(DNS, firewall, HTTPS proxy).",
        True,
    ),
    LANYARD_USER_NOT_MONITORED: Advice(
        LANYARD_USER_NOT_MONITORED,
        'Lanyard answered "user_not_monitored": it does not monitor the Discord user '
        "LANYARD_USER_ID names (Lanyard only sees the presence of members of its Discord "
        "server).",
        f"Join the Lanyard Discord server ({LANYARD_INVITE}) so Lanyard monitors your "
        "presence, and check that LANYARD_USER_ID is your Discord user id (Developer Mode, "
        "then Copy User ID on your profile); the poller retries every 5 minutes.",
        True,
    ),
}


def configured(client_id: str | None, client_secret: str | None) -> bool:
    """Whether a Spotify app is configured at all (without one there is nothing to poll)."""
    return bool(client_id and client_secret)


def advice(cause: str | None) -> Advice | None:
    """The advice for a cause code from a heartbeat; None for no or an unknown cause."""
    return ADVICE.get(cause) if cause else None


def from_forbidden(message: str) -> str | None:
    """The cause for a Web API 403 by Spotify's message; None when it is not a setup error.

    `message` may be the plain-text body Development Mode really sends or the `message` of a
    JSON error body (or that whole body): case, punctuation and spacing are ignored, so
    "User not registered in the Developer Dashboard", "The user may not be registered." and
    "Active premium subscription required for the owner of the app" all match.
    """
    words = " ".join(re.sub(r"[^0-9a-z]+", " ", message.casefold()).split())
    if re.search(r"\bpremium\b", words):
        return PREMIUM_REQUIRED
    if re.search(r"\bnot (?:be )?registered\b", words):
        return USER_NOT_REGISTERED
    return None


def readiness(found: Advice, auth_failed: bool) -> dict[str, str]:
    """The /readyz fields for a cause: `auth` ("not connected", "error" or "ok"), and why."""
    auth = "not connected" if not found.connected else "error" if auth_failed else "ok"
    return {"auth": auth, "setup": found.cause, "message": found.message, "action": found.action}


def log_line(cause: str) -> str:
    """The one log line for a cause: what is wrong, then what to do."""
    found = ADVICE[cause]
    return f"{found.message} Fix: {found.action}"
