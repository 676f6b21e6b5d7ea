"""The poller's heartbeat: what the leader writes every few seconds and every reader checks.

It gets the document's treatment: one typed shape, one encoder, one decoder that never
raises, so the poller, the web's watchdog and /readyz cannot read it differently. A value
that is not a heartbeat (no integer `at`, not JSON, not an object) decodes to None, which
every reader treats as "no heartbeat" (never as a Redis outage). Also here: the freshness
window both the heartbeat and the poller's own data are judged by, and the refresh
token's age.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

STALE_INTERVALS = 3
STALE_MIN_S = 15.0
TOKEN_LIFETIME_DAYS = 182
TOKEN_WARN_DAYS = 14
DAY_MS = 86_400_000


class Heartbeat(TypedDict):
    at: int  # ms epoch of the write
    instance: str
    state: str
    authError: str | None
    setupError: str | None  # a shared/setup_errors.py cause code: what the owner must fix
    lastSuccessAt: int | None
    pollInterval: float
    interval: float  # the delay the poller planned after its last poll
    tokenAuthorizedAt: int | None
    demo: bool
    pausedUntil: int | None
    pauseReason: str | None  # "quota" (Spotify's QUOTA_EXCEEDED) or "budget" (our own)
    calls24h: int  # Spotify calls in the rolling 24 h, as the poller last counted them
    budget: int  # SPOTIFY_DAILY_BUDGET
    watched: bool  # an SSE stream was open at the last poll (or POLL_MODE=always)
    sources: dict[str, Any] | None  # with several sources: each one's state and what to fix


def new_heartbeat(at_ms: int, state: str = "unknown") -> Heartbeat:
    """A heartbeat with every other field empty: the decoder's defaults, and what a
    stand-in poller (benchmarks, tests) writes."""
    return {
        "at": at_ms,
        "instance": "",
        "state": state,
        "authError": None,
        "setupError": None,
        "lastSuccessAt": None,
        "pollInterval": 0.0,
        "interval": 0.0,
        "tokenAuthorizedAt": None,
        "demo": False,
        "pausedUntil": None,
        "pauseReason": None,
        "calls24h": 0,
        "budget": 0,
        "watched": False,
        "sources": None,
    }


def encode_heartbeat(beat: Heartbeat) -> str:
    return json.dumps(beat, separators=(",", ":"))


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any, default: float) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else default


def decode_heartbeat(raw: bytes | str | None) -> Heartbeat | None:
    """A heartbeat, or None when `raw` is not one. Never raises; a field of the wrong
    type reads as its empty value, so one odd field does not hide the others."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(value, dict):
        return None
    at = _opt_int(value.get("at"))
    if at is None:
        return None
    beat = new_heartbeat(at, str(value.get("state") or "unknown"))
    auth_error = value.get("authError")
    beat["instance"] = str(value.get("instance") or "")
    beat["authError"] = str(auth_error) if auth_error else None
    setup_error = value.get("setupError")
    beat["setupError"] = str(setup_error) if setup_error else None
    beat["lastSuccessAt"] = _opt_int(value.get("lastSuccessAt"))
    beat["pollInterval"] = _number(value.get("pollInterval"), 0.0)
    beat["interval"] = _number(value.get("interval"), 0.0)
    beat["tokenAuthorizedAt"] = _opt_int(value.get("tokenAuthorizedAt"))
    beat["demo"] = value.get("demo") is True
    beat["pausedUntil"] = _opt_int(value.get("pausedUntil"))
    reason = value.get("pauseReason")
    beat["pauseReason"] = str(reason) if reason else None
    beat["calls24h"] = _opt_int(value.get("calls24h")) or 0
    beat["budget"] = _opt_int(value.get("budget")) or 0
    beat["watched"] = value.get("watched") is True
    sources = value.get("sources")
    beat["sources"] = sources if isinstance(sources, dict) else None
    return beat


def stale_window_s(interval_s: float) -> float:
    """The contract's freshness window: 3 intervals, at least 15 s. A heartbeat older than
    this means the poller is down; no successful poll for this long makes data stale."""
    return max(STALE_INTERVALS * interval_s, STALE_MIN_S)


def age_s(beat: Heartbeat, now_ms: int) -> float:
    return (now_ms - beat["at"]) / 1000


def is_fresh(beat: Heartbeat | None, now_ms: int, window_s: float) -> bool:
    return beat is not None and age_s(beat, now_ms) <= window_s


def token_days_left(authorized_at_ms: int | None, now_ms: int) -> float | None:
    """Days until a refresh token authorized at `authorized_at_ms` expires (six months)."""
    if authorized_at_ms is None:
        return None
    return (authorized_at_ms + TOKEN_LIFETIME_DAYS * DAY_MS - now_ms) / DAY_MS
