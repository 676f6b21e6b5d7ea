"""What /admin shows, as one JSON-able dict: the page renders it and its script refetches it.

Read from Redis (the heartbeat, the leader lock, the calls of the rolling 24 h, the refresh
token record, the privacy switch) and from the settings; never a secret: every string of
the result passes through `redact`, which removes each of `Settings.secrets()`, and no
field ever carries a token, only whether one is stored and when it was authorized.
"""

from __future__ import annotations

import time
from typing import Any

from shared import budget as budget_rules
from shared import setup_errors
from shared.config import Settings
from shared.heartbeat import Heartbeat, is_fresh, token_days_left
from shared.privacy_switch import is_hidden
from shared.store import Store
from web.read_cache import Cached, Snapshot

HOUR_MS = 3_600_000
# The README's step for each setup cause (its anchors); the page links each fix there.
PROJECT_URL = "https://github.com/nowplaying/nowplaying"
README_STEPS = {
    setup_errors.NOT_CONFIGURED: "connect-your-spotify-account",
    setup_errors.NO_REFRESH_TOKEN: "connect-your-spotify-account",
    setup_errors.INVALID_CLIENT: "connect-your-spotify-account",
    setup_errors.INVALID_GRANT: "connect-your-spotify-account",
    setup_errors.PREMIUM_REQUIRED: "connect-your-spotify-account",
    setup_errors.USER_NOT_REGISTERED: "connect-your-spotify-account",
    setup_errors.UNREACHABLE: "deploy-with-docker-compose",
    setup_errors.LANYARD_USER_NOT_MONITORED: "lanyard-discord",
    "quota": "spotifys-daily-quota",
}


def readme_link(anchor: str) -> str:
    return f"{PROJECT_URL}#{anchor}"


def redact(value: Any, secrets: list[str]) -> Any:
    """`value` with every secret replaced, in every string at any depth."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, secrets) for v in value]
    return value


def hourly(stamps: list[int], now_ms: int) -> list[int]:
    """Calls per hour of the last 24 h, oldest hour first (the last is the one ending now)."""
    counts = [0] * 24
    for at in stamps:
        age = now_ms - at
        if 0 <= age < budget_rules.WINDOW_MS:
            counts[23 - age // HOUR_MS] += 1
    return counts


def source_rows(settings: Settings, beat: Heartbeat | None) -> list[dict[str, Any]]:
    """Each source, its state, and for a setup cause what is wrong and the one fix."""
    names = list(settings.source_order) or ["demo"]
    reported: dict[str, Any] = (beat["sources"] if beat is not None else None) or {}
    rows = []
    for name in names:
        entry = reported.get(name) if isinstance(reported, dict) else None
        state = str(entry.get("state")) if isinstance(entry, dict) else None
        error = entry.get("error") if isinstance(entry, dict) else None
        if state is None:
            state = beat["state"] if beat is not None else "unknown: no heartbeat"
        cause = beat["setupError"] if beat is not None and name == "spotify" else None
        if cause is None and isinstance(entry, dict) and isinstance(entry.get("setup"), str):
            cause = entry["setup"]  # a source's own setup cause (Lanyard's unmonitored user)
        found = setup_errors.advice(cause)
        rows.append(
            {
                "name": name,
                "state": state,
                "error": str(error) if error else None,
                "cause": found.cause if found else None,
                "message": found.message if found else None,
                "fix": found.action if found else None,
                "readme": readme_link(
                    README_STEPS.get(found.cause, "set-up-which-source-should-i-use")
                )
                if found
                else None,
            }
        )
    return rows


def last_errors(beat: Heartbeat | None) -> list[dict[str, Any]]:
    """The errors the heartbeat carries, with the time it was written."""
    if beat is None:
        return []
    errors = []
    if beat["authError"]:
        errors.append({"at": beat["at"], "source": "spotify", "message": beat["authError"]})
    for name, entry in (beat["sources"] or {}).items():
        if isinstance(entry, dict) and entry.get("error"):
            errors.append({"at": beat["at"], "source": name, "message": str(entry["error"])})
    return errors


class ErrorLog:
    """The last errors this web process saw in heartbeats, newest first: the heartbeat
    holds only the current one per source, so each new (source, message) is remembered
    when /admin or its JSON reads it (the open page reads every 10 s)."""

    def __init__(self, size: int = 20) -> None:
        self.size = size
        self.entries: list[dict[str, Any]] = []

    def merge(self, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for error in current:
            last = next((e for e in self.entries if e["source"] == error["source"]), None)
            if last is None or last["message"] != error["message"]:
                self.entries.insert(0, error)
        del self.entries[self.size :]
        return list(self.entries)


def budget_view(
    settings: Settings,
    snapshot: Snapshot | None,
    stamps: list[int],
    beat: Heartbeat | None,
    now: int,
) -> dict[str, Any]:
    calls = snapshot.calls_24h if snapshot else None
    limit = settings.daily_budget
    learnt = beat["budget"] if beat and 0 < beat["budget"] < limit else None
    paused = snapshot.paused_until if snapshot else None
    in_window = sorted(at for at in stamps if now - at < budget_rules.WINDOW_MS)
    if paused is not None:
        next_free: int | None = paused
    elif calls is not None and calls >= (learnt or limit) and in_window:
        next_free = in_window[0] + budget_rules.WINDOW_MS
    else:
        next_free = now if calls is not None else None
    return {
        "calls24h": calls,
        "budget": limit,
        "quota": learnt,
        "pausedUntil": paused,
        "pauseReason": beat["pauseReason"] if beat else None,
        "hours": hourly(stamps, now),
        "nextFreeAt": next_free,
    }


async def read_status(
    settings: Settings,
    store: Store,
    reads: Cached[Snapshot],
    document: dict[str, Any],
    errors: ErrorLog | None = None,
) -> dict[str, Any]:
    """Everything /admin shows; what cannot be read (Redis away) is null, never an error."""
    now = int(time.time() * 1000)
    snapshot: Snapshot | None = None
    try:
        snapshot = await reads.get()  # the same read /readyz answers from
    except Exception:
        snapshot = None
    beat = snapshot.heartbeat if snapshot else None
    stamps: list[int] = []
    leader = None
    record_token, authorized_at, hidden = False, None, None
    try:
        low = now - budget_rules.WINDOW_MS
        raw: list[Any] = await store.redis.zrangebyscore(
            store.keys.spotify_calls, f"({low}", "+inf", withscores=True
        )
        stamps = [int(score) for _, score in raw]
        holder: Any = await store.redis.get(store.keys.leader)
        leader = holder.decode(errors="replace") if holder else None
        record = await store.refresh_record()
        record_token, authorized_at = bool(record.token), record.authorized_at
        hidden = await is_hidden(store)
    except Exception:
        pass
    authorized = authorized_at or (beat["tokenAuthorizedAt"] if beat else None)
    days_left = token_days_left(authorized, now)
    status = {
        "now": now,
        "redis": snapshot is not None,
        "sources": source_rows(settings, beat),
        "budget": budget_view(settings, snapshot, stamps, beat, now),
        "token": {
            "authorizedAt": authorized,
            "ageDays": None if authorized is None else round((now - authorized) / 86_400_000, 1),
            "daysLeft": None if days_left is None else round(days_left, 1),
            "storedInRedis": record_token,  # a rotated or /callback token is stored
        },
        "errors": (errors or ErrorLog()).merge(redact(last_errors(beat), settings.secrets())),
        "poller": {
            "heartbeatAt": beat["at"] if beat else None,
            "fresh": is_fresh(beat, now, settings.stale_after_s),
            "state": beat["state"] if beat else None,
            "instance": beat["instance"] if beat else None,
            "leader": leader,
        },
        "privacy": {"hidden": hidden},
        "ingest": {
            "enabled": bool(settings.ingest_token),
            "note": "sends a 30-second test track through the push ingest"
            if settings.ingest_token
            else "set INGEST_TOKEN to enable push ingest",
        },
        "document": {
            "version": document["version"],
            "demo": document["demo"],
            "stale": document["stale"],
            "provider": (document["song"] or {}).get("provider"),
            "url": (document["song"] or {}).get("url"),
        },
        "spotifyConfigured": bool(settings.client_id and settings.client_secret),
    }
    result: dict[str, Any] = redact(status, settings.secrets())
    return result
