"""Is this instance ready to serve live data? The decision behind /readyz, pure.

The handler (web/health.py) does the I/O (a Redis ping and the heartbeat read, bounded
in time) and passes what it saw; this function only decides. Keys of the report are the
contract's: a monitoring setup greps them.
"""

from __future__ import annotations

from typing import Any

from shared import setup_errors
from shared.heartbeat import TOKEN_WARN_DAYS, Heartbeat, age_s, is_fresh, token_days_left

REAUTH_ACTION = (
    "Spotify refused the refresh token (revoked or expired after six months). "
    "Reconnect: run `nowplaying auth`, or open /login?token=<ADMIN_TOKEN>."
)


def source_setup(sources: dict[str, Any]) -> dict[str, str]:
    """The first source that names a setup cause (`sources[name]["setup"]`, e.g. Lanyard's
    `lanyard_user_not_monitored`) as the report's `setup`, `message` and `action`; the
    document may still come from another source, so `auth` is left alone."""
    for name, entry in sources.items():
        cause = entry.get("setup") if isinstance(entry, dict) else None
        found = setup_errors.advice(cause if isinstance(cause, str) else None)
        if found is not None:
            return {
                "setup": found.cause,
                "setupSource": str(name),
                "message": found.message,
                "action": found.action,
            }
    return {}


def readiness(
    *, redis_error: str | None, beat: Heartbeat | None, now_ms: int, stale_after_s: float
) -> tuple[int, dict[str, Any]]:
    """200 when Redis answers and the heartbeat is fresh, else 503; and the report that
    says which part is wrong. `redis_error` is None when Redis answered, else its kind."""
    report: dict[str, Any] = {"redis": "ok", "poller": "ok", "auth": "ok"}
    ready = True
    if redis_error is not None:
        report["redis"] = f"unreachable ({redis_error})"
        ready = False
    elif beat is None:
        report["poller"] = "no heartbeat: is the poller running?"
        ready = False
    elif not is_fresh(beat, now_ms, stale_after_s):
        report["poller"] = f"heartbeat {age_s(beat, now_ms):.0f} s old: the poller is down or stuck"
        ready = False
    else:
        report["pollerState"] = beat["state"]
    if beat is not None and beat["demo"]:
        # The simulated player of `nowplaying run`: nothing is configured, so the contract's
        # "nothing configured: 200 with auth: not connected", not the simulator's token.
        report["tokenDaysLeft"] = None
        not_configured = setup_errors.ADVICE[setup_errors.NOT_CONFIGURED]
        report.update(setup_errors.readiness(not_configured, auth_failed=False))
    elif beat is not None:
        days = token_days_left(beat["tokenAuthorizedAt"], now_ms)
        report["tokenDaysLeft"] = None if days is None else round(days, 1)
        found = setup_errors.advice(beat["setupError"])
        if found is not None:
            report.update(setup_errors.readiness(found, bool(beat["authError"])))
        elif beat["authError"]:  # a poller from before setup causes: its generic advice
            report["auth"] = "error"
            report["action"] = REAUTH_ACTION
        elif days is not None and days <= TOKEN_WARN_DAYS:
            report["action"] = f"The refresh token expires in {days:.0f} days: reconnect soon."
        if beat["sources"]:
            report["sources"] = beat["sources"]  # each source's state and what to fix
            if "setup" not in report:
                report.update(source_setup(beat["sources"]))
    return (200 if ready else 503), report
