"""The heartbeat's one decoder, and the pure readiness decision behind /readyz."""

from __future__ import annotations

import asyncio
import json

from shared.heartbeat import (
    DAY_MS,
    TOKEN_LIFETIME_DAYS,
    decode_heartbeat,
    encode_heartbeat,
    is_fresh,
    new_heartbeat,
    stale_window_s,
)
from shared.store import Store
from tests.webutil import song
from web.follower import watch_poller
from web.hub import Hub
from web.readiness import readiness

NOW = 1_763_900_000_000


def test_a_heartbeat_survives_encoding() -> None:
    beat = new_heartbeat(NOW, "ok")
    beat["authError"] = "invalid_grant: revoked"
    beat["tokenAuthorizedAt"] = NOW - DAY_MS
    assert decode_heartbeat(encode_heartbeat(beat)) == beat


def test_a_heartbeat_without_at_decodes_to_none() -> None:
    assert decode_heartbeat(json.dumps({"state": "ok"})) is None


def test_garbage_decodes_to_none() -> None:
    for raw in (None, b"", b"not json", b"[1, 2]", b"\xff\xfe", b'{"at": "soon"}', b'{"at": true}'):
        assert decode_heartbeat(raw) is None


def test_a_field_of_the_wrong_type_reads_as_empty() -> None:
    beat = decode_heartbeat(json.dumps({"at": NOW, "tokenAuthorizedAt": "x", "demo": "yes"}))
    assert beat is not None
    assert (beat["tokenAuthorizedAt"], beat["demo"], beat["at"]) == (None, False, NOW)


def test_the_stale_window_is_three_intervals_but_at_least_fifteen_seconds() -> None:
    assert (stale_window_s(1), stale_window_s(10)) == (15.0, 30.0)


def test_freshness_counts_from_the_heartbeat_time() -> None:
    beat = new_heartbeat(NOW - 15_000)
    assert is_fresh(beat, NOW, 15.0) and not is_fresh(beat, NOW + 1, 15.0)


def test_ready_with_redis_and_a_fresh_heartbeat() -> None:
    status, report = readiness(
        redis_error=None, beat=new_heartbeat(NOW, "ok"), now_ms=NOW, stale_after_s=15
    )
    assert status == 200
    assert report["redis"] == report["poller"] == report["auth"] == "ok"
    assert report["pollerState"] == "ok"


def test_the_demo_player_is_ready_and_says_nothing_is_connected() -> None:
    """`nowplaying run` with nothing configured: 200, "not connected", what to set."""
    beat = new_heartbeat(NOW, "ok")
    beat["demo"], beat["tokenAuthorizedAt"] = True, NOW
    status, report = readiness(redis_error=None, beat=beat, now_ms=NOW, stale_after_s=15)
    assert status == 200
    assert (report["auth"], report["setup"], report["tokenDaysLeft"]) == (
        "not connected",
        "not_configured",
        None,
    )


def test_unready_when_redis_fails_and_says_how() -> None:
    status, report = readiness(
        redis_error="ConnectionError", beat=None, now_ms=NOW, stale_after_s=15
    )
    assert status == 503
    assert report["redis"] == "unreachable (ConnectionError)"
    assert report["poller"] == "ok"  # not judged: the heartbeat could not be read


def test_unready_without_a_heartbeat() -> None:
    status, report = readiness(redis_error=None, beat=None, now_ms=NOW, stale_after_s=15)
    assert status == 503
    assert report["poller"].startswith("no heartbeat")


def test_unready_with_an_old_heartbeat() -> None:
    beat = new_heartbeat(NOW - 20_000, "ok")
    status, report = readiness(redis_error=None, beat=beat, now_ms=NOW, stale_after_s=15)
    assert status == 503
    assert report["poller"].startswith("heartbeat 20 s old")


def test_an_auth_error_asks_to_reconnect_but_keeps_readiness() -> None:
    beat = new_heartbeat(NOW, "auth_error")
    beat["authError"] = "invalid_grant: revoked"
    status, report = readiness(redis_error=None, beat=beat, now_ms=NOW, stale_after_s=15)
    assert status == 200
    assert report["auth"] == "error"
    assert "nowplaying auth" in report["action"]


def test_a_token_close_to_expiry_reports_its_days_left() -> None:
    beat = new_heartbeat(NOW, "ok")
    beat["tokenAuthorizedAt"] = NOW - (TOKEN_LIFETIME_DAYS - 10) * DAY_MS
    _, report = readiness(redis_error=None, beat=beat, now_ms=NOW, stale_after_s=15)
    assert report["tokenDaysLeft"] == 10.0
    assert report["action"] == "The refresh token expires in 10 days: reconnect soon."


async def test_the_watchdog_takes_a_heartbeat_without_at_for_a_missing_poller(
    fake_store: Store,
) -> None:
    """Before, it raised on the missing key and was filed as a Redis outage: the data
    went stale in this process only, never in Redis for every reader."""
    await fake_store.publish(song(), stale=False, demo=False, now_ms=NOW)
    await fake_store.redis.set(fake_store.keys.heartbeat, json.dumps({"state": "ok"}))
    hub = Hub()
    watchdog = asyncio.create_task(watch_poller(fake_store, hub, 0.3, demo=False))
    try:
        for _ in range(50):
            await asyncio.sleep(0.05)
            stored = await fake_store.current()
            if stored is not None and stored["stale"]:
                break
    finally:
        watchdog.cancel()
        await asyncio.gather(watchdog, return_exceptions=True)
    stored = await fake_store.current()
    assert stored is not None and stored["stale"]
    assert not hub.local  # not the Redis-outage path
