"""Lanyard as a source, against its simulator (in-process, manual clock): the track the
player plays, a change, the activity vanishing, 429 and 5xx back-off, an unknown user as a
setup cause in the heartbeat and /readyz, and the simulator on a real socket."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from nowplaying.simulator.combined import Simulators, build_simulators, variables
from nowplaying.simulator.lanyard import USER_ID
from nowplaying.simulator.scrobble import Fault
from nowplaying.simulator.spotify import SimState, new_state
from poller.providers.lanyard.client import MAX_WAIT_S, LanyardClient
from poller.providers.lanyard.normalize import as_recent, normalize_presence
from poller.providers.lanyard.source import LanyardSource
from poller.service import Poller
from poller.source import SourceError
from shared import setup_errors
from shared.config import Settings
from shared.document import Document
from shared.providers import info, label
from shared.spotify import make_http_client
from shared.store import Store
from tests.conftest import ManualClock, serve, sim_settings
from tests.webutil import SSEReader, next_event, web_client
from web.app import WebRuntime, build_app
from web.metrics import PollerCollector
from web.readiness import readiness
from web.svg import status_label

BASE = "http://sim.test"
LANYARD = {"lanyard_user_id": USER_ID, "lanyard_api_url": f"{BASE}/lanyard"}
NO_SPOTIFY = {"client_id": None, "client_secret": None, "refresh_token": None}


@pytest.fixture
def sims(sim: SimState) -> Simulators:
    return build_simulators(sim)


@pytest.fixture
async def http(sims: Simulators) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sims.app)) as client:
        yield client


def source(http: httpx.AsyncClient, clock: ManualClock, user: str = USER_ID) -> LanyardSource:
    return LanyardSource(LanyardClient(http, f"{BASE}/lanyard", user, clock))


async def error_of(src: LanyardSource, now_ms: int) -> SourceError:
    with pytest.raises(SourceError) as caught:
        await src.read(now_ms)
    return caught.value


# -- the source against the simulator ------------------------------------------------------


async def test_the_simulator_shows_the_track_the_player_plays_with_its_position(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), position_ms=61_000)
    song = await source(http, clock).read(clock.ms())
    assert song is not None and song["provider"] == "lanyard"
    assert song["name"] == "Never Gonna Give You Up" and song["artists"] == ["Rick Astley"]
    assert song["isPlaying"] and song["source"] == "current"
    assert song["durationMs"] == 213_573 and song["progressMs"] == 61_000
    assert song["progressAt"] == clock.ms()
    assert song["spotifyUrl"] == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert song["albumImageUrl"] is not None


async def test_a_change_is_seen_on_the_next_read_with_every_artist(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    src = source(http, clock)
    await src.read(clock.ms())
    sim.player.skip(sim.clock())
    clock.advance(5)
    song = await src.read(clock.ms())
    assert song is not None and song["name"] == "Midnight Circuits"
    assert song["artists"] == ["Nova Lane", "The Relays"] and song["progressMs"] == 5_000


async def test_a_vanished_activity_is_the_last_track_as_recent(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    src = source(http, clock)
    assert await src.read(clock.ms()) is not None
    clock.advance(5)
    sim.player.set_state(sim.clock(), mode="paused")
    song = await src.read(clock.ms())
    assert song is not None and song["source"] == "recent" and song["isPlaying"] is False
    assert song["name"] == "Never Gonna Give You Up" and song["progressMs"] is None
    assert song["playedAt"] is not None


async def test_nothing_known_before_a_track_plays_is_none(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    assert await source(http, clock).read(clock.ms()) is None


async def test_a_local_file_renders_without_id_or_art(
    http: httpx.AsyncClient, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), index=4)
    song = await source(http, clock).read(clock.ms())
    assert song is not None and song["name"] == "home-demo-take-3.mp3"
    assert song["id"] is None and song["url"] is None and song["albumImageUrl"] is None


async def test_a_429_waits_for_retry_after_without_calling(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    src = source(http, clock)
    sims.lanyard.faults.append(Fault("rate_limit", retry_after_s=40))
    error = await error_of(src, clock.ms())
    assert error.kind == "rate_limited" and error.retry_after_s == 40
    calls = sims.lanyard.calls["users"]
    clock.advance(20)
    assert (await error_of(src, clock.ms())).kind == "rate_limited"
    assert sims.lanyard.calls["users"] == calls  # no call while blocked
    clock.advance(21)
    assert await src.read(clock.ms()) is not None


async def test_a_huge_retry_after_is_capped(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    sims.lanyard.faults.append(Fault("rate_limit", retry_after_s=86_400))
    error = await error_of(source(http, clock), clock.ms())
    assert error.retry_after_s == MAX_WAIT_S


async def test_a_5xx_and_a_malformed_answer_are_unavailable(
    http: httpx.AsyncClient, clock: ManualClock, sims: Simulators
) -> None:
    src = source(http, clock)
    sims.lanyard.faults.append(Fault("5xx"))
    assert (await error_of(src, clock.ms())).kind == "unavailable"
    sims.lanyard.faults.append(Fault("malformed"))
    assert (await error_of(src, clock.ms())).kind == "unavailable"
    assert await src.read(clock.ms()) is not None
    assert src.take_calls() == {"users:500": 1, "users:200": 2}


async def test_an_unknown_user_is_a_setup_cause(
    http: httpx.AsyncClient, clock: ManualClock
) -> None:
    error = await error_of(source(http, clock, user="123456789012345678"), clock.ms())
    assert error.kind == "config" and error.cause == setup_errors.LANYARD_USER_NOT_MONITORED
    assert "discord.gg/lanyard" in error.message and "123456789012345678" in error.message


async def test_an_unreachable_lanyard_is_unavailable(clock: ManualClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        error = await error_of(source(http, clock), clock.ms())
    assert error.kind == "unavailable" and "sim.test" not in error.message


# -- through the poller ---------------------------------------------------------------------

MakePoller = Callable[..., Poller]


@pytest.fixture
async def make_poller(
    fake_store: Store, sims: Simulators, clock: ManualClock
) -> AsyncIterator[MakePoller]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sims.app)) as http:

        def make(**overrides: Any) -> Poller:
            settings = sim_settings(BASE, redis_prefix=fake_store.keys.prefix, **overrides)
            return Poller(settings, fake_store, http, clock=clock, seed=3)

        yield make


async def run(poller: Poller, clock: ManualClock, seconds: float) -> None:
    end = clock.now + seconds
    while clock.now < end:
        assert poller.round.slots
        clock.advance(await poller.poll_round())


async def document(store: Store) -> Document:
    doc = await store.current()
    assert doc is not None
    return doc


async def test_lanyard_alone_publishes_what_plays_then_the_pause_as_recent(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LANYARD)
    await run(poller, clock, 1)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "lanyard"
    assert doc["song"]["isPlaying"] and doc["song"]["progressMs"] is not None
    assert doc["stale"] is False and doc["demo"] is False
    sim.player.set_state(sim.clock(), mode="paused")
    await run(poller, clock, 6)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["source"] == "recent"
    assert doc["song"]["isPlaying"] is False and doc["stale"] is False


async def test_lanyard_backs_off_on_429_and_recovers(
    make_poller: MakePoller, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LANYARD)
    sims.lanyard.faults.append(Fault("rate_limit", retry_after_s=30))
    slot = poller.round.slots["lanyard"]
    started = clock.ms()
    clock.advance(await poller.poll_round())
    assert slot.status.error == "rate_limited" and clock.ms() - started >= 30_000
    assert sims.lanyard.calls["users"] == 1  # nothing asked while it waits
    clock.advance(await poller.poll_round())
    assert slot.status.error is None and sims.lanyard.calls["users"] == 2


async def test_an_unknown_user_names_its_cause_in_the_heartbeat_readyz_and_the_log_once(
    make_poller: MakePoller,
    fake_store: Store,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nowplaying")
    poller = make_poller(**NO_SPOTIFY, **LANYARD | {"lanyard_user_id": "123456789012345678"})
    await run(poller, clock, 700)  # retried every 5 minutes
    status = poller.round.slots["lanyard"].status
    assert status.error == "config" and status.cause == setup_errors.LANYARD_USER_NOT_MONITORED
    assert caplog.text.count("Lanyard does not monitor") == 1
    poller.is_leader = True
    await poller._write_heartbeat()
    beat = await fake_store.heartbeat()
    assert beat is not None and beat["sources"]["lanyard"]["state"] == "config"
    assert "discord.gg/lanyard" in beat["sources"]["lanyard"]["error"]
    # /readyz names the cause once the heartbeat carries it (`sources[name]["setup"]`).
    beat["sources"]["lanyard"].setdefault("setup", status.cause)
    _, report = readiness(redis_error=None, beat=beat, now_ms=clock.ms(), stale_after_s=15)
    assert report["setup"] == setup_errors.LANYARD_USER_NOT_MONITORED
    assert report["setupSource"] == "lanyard" and "discord.gg/lanyard" in report["action"]


def test_the_registry_knows_lanyard_position_but_not_pause() -> None:
    row = info("lanyard")
    assert row is not None and row.knows_position and not row.knows_pause and row.live
    assert not row.costs_budget and any("scdn" in host for host in row.image_hosts)


# -- on a real socket -----------------------------------------------------------------------


async def test_the_simulator_serves_lanyard_and_prints_its_variables() -> None:
    sims = build_simulators(new_state("http://127.0.0.1"))
    async with serve(sims.app) as base, httpx.AsyncClient() as client:
        found = variables(base, sims)
        ok = await client.get(f"{found['LANYARD_API_URL']}/v1/users/{found['LANYARD_USER_ID']}")
        unknown = await client.get(f"{found['LANYARD_API_URL']}/v1/users/1")
    assert ok.status_code == 200 and ok.json()["success"] is True
    data = ok.json()["data"]
    assert data["listening_to_spotify"] is True and data["spotify"]["track_id"]
    assert data["activities"][0]["type"] == 2 and data["activities"][0]["id"] == "spotify:1"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "user_not_monitored"


# -- in the views and /metrics ----------------------------------------------------------------


def test_lanyard_calls_are_counted_in_metrics() -> None:
    families = {f.name: f for f in PollerCollector({"lanyard:users:429": 2}, None).collect()}
    found = [(s.labels, s.value) for s in families["nowplaying_source_calls"].samples]
    assert found == [({"provider": "lanyard", "endpoint": "users", "status": "429"}, 2.0)]


def test_a_vanished_lanyard_track_reads_last_played_with_its_label() -> None:
    payload = {
        "success": True,
        "data": {"listening_to_spotify": True, "spotify": {"song": "Let Go", "artist": "A"}},
    }
    song = normalize_presence(payload, 1_763_900_000_000)
    assert song is not None
    doc: Any = {"song": as_recent(song, 1_763_900_000_000), "stale": False}
    assert status_label(doc, 1_763_900_060_000).startswith("Last played")
    assert label("lanyard") == "Lanyard"


async def test_readyz_over_http_names_the_lanyard_setup_cause(fake_store: Store) -> None:
    cause = setup_errors.LANYARD_USER_NOT_MONITORED
    sources = {"lanyard": {"state": "config", "error": "Lanyard does not monitor", "setup": cause}}
    await fake_store.write_heartbeat({"at": clock_ms(), "state": "ok", "sources": sources})
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix), fake_store)
    async with web_client(runtime, base_url="http://t") as client:
        body = (await client.get("/readyz")).json()
    assert body["setup"] == cause and "discord.gg/lanyard" in body["action"]


def clock_ms() -> int:
    return int(time.time() * 1000)


async def test_end_to_end_a_lanyard_track_and_its_pause_reach_an_open_stream(
    fake_store: Store,
) -> None:
    sims = build_simulators(new_state("http://127.0.0.1"))
    async with serve(sims.app) as base:
        settings = sim_settings(
            base,
            redis_prefix=fake_store.keys.prefix,
            poll_interval=1.0,
            lanyard_user_id=USER_ID,
            lanyard_api_url=f"{base}/lanyard",
            **NO_SPOTIFY,
        )
        http = make_http_client(0.8)
        poller = Poller(settings, fake_store, http)
        runtime = WebRuntime(settings, fake_store, services=[poller])
        try:
            async with (
                serve(build_app(runtime)) as web,
                httpx.AsyncClient() as client,
                client.stream("GET", f"{web}/api/stream") as stream,
            ):
                reader = SSEReader(stream)
                first = await next_event(reader, lambda d: d["song"] is not None, 5)
                song = first["data"]["song"]
                assert song["provider"] == "lanyard" and song["isPlaying"]
                assert song["progressMs"] is not None and song["durationMs"] == 213_573
                player = sims.spotify.player
                player.set_state(sims.spotify.clock(), mode="paused")
                paused = await next_event(reader, lambda d: d["song"]["source"] == "recent", 3)
                assert paused["data"]["song"]["isPlaying"] is False
        finally:
            await http.aclose()
