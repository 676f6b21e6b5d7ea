"""PRIVACY_HIDE, PRIVACY_DELAY and the switch end to end: the real Poller against the
in-process simulator on a manual clock, then every public route of the web app (the hub
fed from the store, as its follower would), the logs, and an open SSE stream."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nowplaying.simulator.spotify import SimState, build_app
from poller.service import Poller
from shared.config import HideRule
from shared.privacy_switch import set_hidden
from shared.store import Store, connect
from tests.conftest import ManualClock, RedisServer, serve, sim_settings
from tests.webutil import SSEReader, publish
from web.app import WebRuntime
from web.app import build_app as build_web

PUBLIC = ("/api/now-playing", "/now.txt", "/embed.svg", "/open", "/api/history", "/history.svg")
RICK = ("Never Gonna Give You Up", "Rick Astley", "Whenever You Need Somebody")
EPISODE = ("Episode 42", "The Maintainers Show", "Open Source Radio")


@pytest.fixture
async def world(
    fake_store: Store, sim: SimState, clock: ManualClock
) -> AsyncIterator[Callable[..., Any]]:
    """make(**settings) -> (poller, web client, runtime) on one store."""
    opened: list[Any] = []
    transport = httpx.ASGITransport(app=build_app(sim))
    sim_http = httpx.AsyncClient(transport=transport)

    async def make(**overrides: Any) -> tuple[Poller, httpx.AsyncClient, WebRuntime]:
        settings = sim_settings("http://sim.test", redis_prefix=fake_store.keys.prefix, **overrides)
        poller = Poller(settings, fake_store, sim_http, clock=clock, seed=7)
        runtime = WebRuntime(settings, fake_store)
        web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=build_web(runtime)), base_url="http://np.test"
        )
        opened.append((web, runtime))
        return poller, web, runtime

    yield make
    for web, runtime in opened:
        await web.aclose()
        await runtime.http.aclose()
    await sim_http.aclose()


async def public_text(web: httpx.AsyncClient, runtime: WebRuntime, store: Store) -> str:
    """Every public answer as one text (the hub first takes what Redis holds)."""
    raw = await store.current_raw()
    if raw:
        runtime.hub.update(raw)
    parts = []
    for path in PUBLIC:
        r = await web.get(path)
        parts.append(f"{path} {r.status_code} {r.headers.get('location', '')} {r.text}")
    parts.append(runtime.hub.frame.decode())  # what an SSE stream is sent
    parts.append((await web.get("/metrics")).text)
    return "\n".join(parts)


async def play_a_while(poller: Poller, clock: ManualClock, rounds: int = 12) -> None:
    for _ in range(rounds):
        await poller.poll_once()
        clock.advance(5)


@pytest.mark.parametrize(
    ("rule", "index", "names"),
    [
        (HideRule("artist", "rick astley"), 0, RICK),
        (HideRule("album", "whenever you need somebody"), 0, RICK),
        (HideRule("show", "the maintainers show"), 3, EPISODE),
    ],
)
async def test_a_hidden_item_appears_on_no_public_route_and_in_no_log(
    world: Callable[..., Any],
    fake_store: Store,
    sim: SimState,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    rule: HideRule,
    index: int,
    names: tuple[str, ...],
) -> None:
    caplog.set_level(logging.DEBUG)
    poller, web, runtime = await world(privacy_hide=(rule,))
    sim.player.set_state(sim.clock(), index=index)
    await play_a_while(poller, clock)
    sim.player.set_state(sim.clock(), index=1)  # something allowed: the hidden one ended
    await play_a_while(poller, clock, 2)
    sim.player.set_state(sim.clock(), index=index)
    await play_a_while(poller, clock, 2)
    text = await public_text(web, runtime, fake_store)
    assert "Nothing playing" in text
    for name in names:
        assert name not in text
        assert name not in caplog.text
    history = (await web.get("/api/history")).json()["items"]
    assert [s["name"] for s in history] == ["Midnight Circuits"]


async def test_privacy_delay_holds_every_route_back(
    world: Callable[..., Any], fake_store: Store, sim: SimState, clock: ManualClock
) -> None:
    poller, web, runtime = await world(privacy_delay=30.0)
    await poller.poll_once()
    text = await public_text(web, runtime, fake_store)
    assert RICK[0] not in text
    clock.advance(29)
    await poller.poll_once()
    await poller.publisher.flush()
    assert RICK[0] not in await public_text(web, runtime, fake_store)
    clock.advance(1)
    await poller.publisher.flush()
    text = await public_text(web, runtime, fake_store)
    assert RICK[0] in text and "open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC" in text
    document = (await web.get("/api/now-playing")).json()
    song = document["song"]
    # The reader's position is the delayed timeline's: 30 s behind the live one.
    assert song["progressAt"] == document["updatedAt"] == clock.ms()


async def test_the_delayed_history_shows_a_session_once_it_ended_that_long_ago(
    world: Callable[..., Any], fake_store: Store, sim: SimState, clock: ManualClock
) -> None:
    poller, web, _ = await world(privacy_delay=30.0)
    clock.now = time.time() - 3600  # the web filters by its own clock
    sim.player.set_state(sim.clock(), index=0)
    await play_a_while(poller, clock)
    sim.player.set_state(sim.clock(), index=1)
    await poller.poll_once()
    history = (await web.get("/api/history")).json()["items"]
    assert [s["name"] for s in history] == [RICK[0]]  # ended an hour ago: visible


async def test_the_switch_on_an_open_stream(fake_store: Store) -> None:
    from shared.config import Settings

    settings = Settings(redis_prefix=fake_store.keys.prefix)
    runtime = WebRuntime(settings, fake_store)
    await publish(fake_store, "First Song")
    await fake_store.redis.set(
        fake_store.keys.live, (await fake_store.current_raw()) or b""
    )  # as the publisher keeps it
    async with (
        serve(build_web(runtime)) as base,
        httpx.AsyncClient() as client,
        client.stream("GET", f"{base}/api/stream") as r,
    ):
        reader = SSEReader(r)
        first = await reader.event()
        assert first["data"]["song"]["name"] == "First Song"
        await set_hidden(fake_store, True)
        hidden = await reader.event(timeout=5)
        assert hidden["data"]["song"] is None and int(hidden["id"]) > int(first["id"])
        await set_hidden(fake_store, False)
        shown = await reader.event(timeout=5)
        assert shown["data"]["song"]["name"] == "First Song"


def test_the_privacy_command_needs_redis_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", "privacy", "hide"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "REDIS_URL" in lines[0]


@pytest.mark.redis
async def test_the_privacy_command_against_a_real_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    store = Store(connect(redis_server.url), "cli")
    try:
        await publish(store, "Loud Song")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
        env |= {"REDIS_URL": redis_server.url, "REDIS_PREFIX": "cli"}
        for action in ("hide", "show"):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "nowplaying.cli", "privacy", action,
                env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            _, err = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, err
            current = await store.current()
            assert current is not None
            if action == "hide":
                assert current["song"] is None and await store.redis.exists(store.keys.privacy)
            else:
                assert not await store.redis.exists(store.keys.privacy)
    finally:
        await store.close()


async def test_a_privacy_wake_makes_the_poller_republish_at_once(
    world: Callable[..., Any], fake_store: Store
) -> None:
    poller, _, _ = await world()
    await poller.poll_once()
    await fake_store.redis.set(fake_store.keys.privacy, "1")  # e.g. the admin page's switch
    assert poller.on_wake("privacy") is False  # no poll moved: a republish instead
    assert poller.publisher.refresh_task is not None
    await poller.publisher.refresh_task
    current = await fake_store.current()
    assert current is not None and current["song"] is None
    await fake_store.redis.delete(fake_store.keys.privacy)
    poller.on_wake("privacy")
    assert poller.publisher.refresh_task is not None
    await poller.publisher.refresh_task
    current = await fake_store.current()
    assert current is not None and current["song"] is not None
    assert current["song"]["name"] == RICK[0]
