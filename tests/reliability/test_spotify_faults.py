"""Spotify misbehaves in every way it does in practice, one fault after another, while the
poller and the web run as processes: the document stays served, `stale` turns true and
back, and the calls obey the poller's rules."""

from __future__ import annotations

import asyncio
import time

from nowplaying.simulator.spotify import DEFAULT_REFRESH_TOKEN, Fault
from shared.store import Store, connect, fingerprint
from tests.conftest import RedisServer
from tests.reliability.conftest import STALE_AFTER_S, Stack, running_stack, until


async def served_song(stack: Stack) -> dict[str, object]:
    document = await stack.document()
    assert document["song"] is not None, "the last good song must stay served"
    return document


async def test_a_sequence_of_spotify_faults(redis_server: RedisServer) -> None:
    async with running_stack(redis_server) as stack:
        sim = stack.sim
        sim.rotation = True  # refresh answers carry a new refresh token, as Spotify may

        # 401 storm: every access token expires and three polls in a row get 401.
        tokens_before = sim.calls["token"]
        for token in sim.access_tokens:
            sim.access_tokens[token] = 0
        sim.faults.append(Fault("currently-playing", status=401, times=3))
        await asyncio.sleep(6)
        assert not sim.faults, "the poller should have worked through the 401s"
        assert sim.calls["token"] - tokens_before <= 4  # one refresh per 401, no storm
        assert not (await served_song(stack))["stale"]

        # 429 with Retry-After: no call to any endpoint until it has passed.
        sim.faults.append(Fault("currently-playing", status=429, retry_after=3, times=1))
        polled = sim.calls["currently-playing"]
        await asyncio.sleep(6)
        assert sim.calls_while_blocked == 0
        assert sim.calls["currently-playing"] > polled + 1  # and polling resumed after
        assert not (await served_song(stack))["stale"]

        # 500s, a timeout, malformed JSON, then Spotify stays down past the stale window.
        sim.faults += [
            Fault("currently-playing", status=500, times=2),
            Fault("currently-playing", status=200, delay_s=3.0, times=1),
            Fault("currently-playing", status=200, malformed=True, times=1),
            Fault("currently-playing", status=503, times=10_000),
        ]

        async def stale() -> bool:
            return bool((await served_song(stack))["stale"])

        waited = await until(stale, STALE_AFTER_S + 25, "stale turns true while Spotify fails")
        assert waited >= STALE_AFTER_S - 1  # not before the window
        polls_while_down = sim.calls["currently-playing"] - polled
        assert polls_while_down < 15  # backing off, not polling every second
        sim.faults.clear()

        async def fresh() -> bool:
            return not (await served_song(stack))["stale"]

        await until(fresh, 65, "stale turns false once Spotify answers again")

        # invalid_grant: the refresh token is revoked; then the owner connects again.
        for token in sim.refresh_tokens:
            sim.refresh_tokens[token] = False
        for token in sim.access_tokens:
            sim.access_tokens[token] = 0

        async def auth_error() -> bool:
            report = (await stack.get("/readyz")).json()
            return report.get("auth") == "error" and bool((await served_song(stack))["stale"])

        await until(auth_error, 15, "the revoked token shows as an auth error, data stale")
        refreshes = sim.calls["token"]
        await asyncio.sleep(4)
        assert sim.calls["token"] - refreshes <= 1  # no hammering with a dead token

        sim.refresh_tokens["reconnected-refresh-token-0123"] = True
        store = Store(connect(stack.env["REDIS_URL"]), stack.env["REDIS_PREFIX"])
        await store.store_refresh_token(  # what /callback does after a new consent
            "reconnected-refresh-token-0123",
            authorized_at=int(time.time() * 1000),
            env_seen=fingerprint(DEFAULT_REFRESH_TOKEN),
        )
        await store.close()
        await until(fresh, 15, "a newly stored refresh token brings the data back")

        async def auth_ok() -> bool:  # the heartbeat carrying it is written every ~3 s
            return bool((await stack.get("/readyz")).json()["auth"] == "ok")

        await until(auth_ok, 10, "/readyz reports the authorization as ok again")
        assert stack.alive(), stack.logs()
