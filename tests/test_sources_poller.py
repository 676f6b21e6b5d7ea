"""The poller with several sources, in-process on a manual clock: Last.fm or ListenBrainz
alone, and failover from Spotify and back, through the simulators of the same player."""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from nowplaying.simulator.combined import Simulators, build_simulators
from nowplaying.simulator.scrobble import Fault as ScrobbleFault
from nowplaying.simulator.spotify import Fault, SimState
from poller.service import Poller
from shared.config import Settings
from shared.document import Document
from shared.store import Store
from tests.conftest import ManualClock, sim_settings

BASE = "http://sim.test"
LASTFM = {
    "lastfm_api_key": "sim-lastfm-key",
    "lastfm_user": "sim-user",
    "lastfm_api_url": f"{BASE}/lastfm/2.0/",
}
LISTENBRAINZ = {"listenbrainz_user": "sim-user", "listenbrainz_api_url": f"{BASE}/listenbrainz"}
NO_SPOTIFY = {"client_id": None, "client_secret": None, "refresh_token": None}

MakePoller = Callable[..., Poller]


@pytest.fixture
def sims(sim: SimState) -> Simulators:
    return build_simulators(sim)


@pytest.fixture
async def make_poller(
    fake_store: Store, sims: Simulators, clock: ManualClock
) -> AsyncIterator[MakePoller]:
    transport = httpx.ASGITransport(app=sims.app)
    async with httpx.AsyncClient(transport=transport) as http:

        def make(**overrides: Any) -> Poller:
            settings: Settings = sim_settings(
                BASE, redis_prefix=fake_store.keys.prefix, **overrides
            )
            return Poller(settings, fake_store, http, clock=clock, seed=3)

        yield make


async def run(poller: Poller, clock: ManualClock, seconds: float) -> None:
    """Poll as the scheduler would, for `seconds` of simulated time."""
    end = clock.now + seconds
    while clock.now < end:
        assert poller.round.slots
        clock.advance(await poller.poll_round())


async def document(store: Store) -> Document:
    doc = await store.current()
    assert doc is not None
    return doc


async def test_lastfm_alone_shows_what_plays(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM)
    await run(poller, clock, 1)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "lastfm"
    assert doc["song"]["name"] == "Never Gonna Give You Up" and doc["song"]["isPlaying"]
    assert doc["stale"] is False and doc["demo"] is False


async def test_listenbrainz_alone_shows_what_plays(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LISTENBRAINZ)
    await run(poller, clock, 1)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "listenbrainz"
    assert doc["song"]["progressMs"] is None and doc["stale"] is False


async def test_listenbrainz_shows_the_last_listen_when_stopped(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    poller = make_poller(**NO_SPOTIFY, **LISTENBRAINZ)
    await run(poller, clock, 1)
    song = (await document(fake_store))["song"]
    assert song is not None and song["source"] == "recent" and song["playedAt"] is not None


async def test_a_track_change_through_lastfm_is_published_on_the_next_poll(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM)
    await run(poller, clock, 1)
    sim.player.skip(sim.clock())
    await run(poller, clock, poller.settings.poll_interval)
    song = (await document(fake_store))["song"]
    assert song is not None and song["name"] == "Midnight Circuits"


async def test_spotify_quota_pause_fails_over_to_lastfm_not_stale(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**LASTFM)
    await run(poller, clock, 1)
    assert (await document(fake_store))["song"]["provider"] == "spotify"  # type: ignore[index]
    sim.faults.append(Fault("currently-playing", status=429, retry_after=60))
    await run(poller, clock, poller.settings.poll_interval)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "lastfm"
    assert doc["stale"] is False and doc["pausedUntil"] is None


async def test_back_to_spotify_within_one_interval_after_the_pause(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**LASTFM)
    await run(poller, clock, 1)
    sim.faults.append(Fault("currently-playing", status=429, retry_after=60))
    await run(poller, clock, 60)
    await run(poller, clock, poller.settings.poll_interval)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "spotify"
    assert doc["stale"] is False


async def test_spotify_auth_error_fails_over_to_lastfm(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**LASTFM)
    sim.refresh_tokens = {token: False for token in sim.refresh_tokens}
    await run(poller, clock, 1)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "lastfm"
    assert doc["stale"] is False


async def test_lastfm_is_not_asked_while_spotify_plays(
    make_poller: MakePoller, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**LASTFM)
    await run(poller, clock, 60)
    assert sims.lastfm.calls["recenttracks"] == 0


async def test_playing_elsewhere_beats_spotify_idle(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState, sims: Simulators
) -> None:
    poller = make_poller(**LASTFM)
    await run(poller, clock, 1)
    # Spotify stops; the same listener plays on another device that scrobbles.
    elsewhere = copy.deepcopy(sim.player)
    elsewhere.set_state(sim.clock(), mode="stopped")
    sims.spotify.player = elsewhere
    await run(poller, clock, 2 * poller.settings.poll_interval)
    song = (await document(fake_store))["song"]
    assert song is not None and song["provider"] == "lastfm" and song["isPlaying"]


async def test_every_source_failing_past_the_window_is_stale(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM)
    await run(poller, clock, 1)
    sims.lastfm.faults.append(ScrobbleFault("5xx", times=1000))
    await run(poller, clock, 60)
    doc = await document(fake_store)
    assert doc["stale"] is True and doc["song"] is not None  # the last song stays


async def test_a_failing_lastfm_falls_back_to_listenbrainz(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM, **LISTENBRAINZ)
    sims.lastfm.faults.append(ScrobbleFault("bad_key", times=1000))
    await run(poller, clock, 1)
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "listenbrainz"


async def test_a_slow_source_times_out_and_backs_off_alone(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM, **LISTENBRAINZ, poll_interval=1.0)
    sims.lastfm.faults.append(ScrobbleFault("slow", delay_s=2.0))
    assert poller.round.slots
    await poller.poll_round()
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "listenbrainz"
    assert poller.round.slots["lastfm"].status.error == "unavailable"


async def test_the_heartbeat_names_each_source_state(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sims: Simulators
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM, **LISTENBRAINZ)
    sims.lastfm.faults.append(ScrobbleFault("private", times=1000))
    await run(poller, clock, 1)
    poller.is_leader = True
    await poller._write_heartbeat()
    beat = await fake_store.heartbeat()
    assert beat is not None and beat["sources"]["lastfm"]["state"] == "config"
    assert "privacy" in beat["sources"]["lastfm"]["error"]
    assert beat["sources"]["listenbrainz"]["state"] == "active"


async def test_no_source_secret_reaches_a_log_line(
    make_poller: MakePoller,
    clock: ManualClock,
    sims: Simulators,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sims.listenbrainz.token = "lb-secret-token"
    poller = make_poller(**NO_SPOTIFY, **LASTFM, **LISTENBRAINZ, listenbrainz_token="wrong-token")
    caplog.set_level(
        logging.DEBUG, logger="nowplaying"
    )  # httpx stays at WARNING, as in setup_logging
    for fault in ("bad_key", "rate_limit", "5xx", "malformed"):
        sims.lastfm.faults.append(ScrobbleFault(fault))
        await run(poller, clock, 70)
    assert "sim-lastfm-key" not in caplog.text and "wrong-token" not in caplog.text
    assert "LASTFM_API_KEY" in caplog.text  # the bad key was reported, by name


async def test_listenbrainz_asks_for_the_last_listen_once_per_idle_spell(
    make_poller: MakePoller, clock: ManualClock, sim: SimState, sims: Simulators
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    poller = make_poller(**NO_SPOTIFY, **LISTENBRAINZ)
    await run(poller, clock, 300)
    assert sims.listenbrainz.calls["listens"] == 1 and sims.listenbrainz.calls["playing-now"] > 10


async def test_spotifys_daily_quota_with_lastfm_answering_is_neither_paused_nor_stale(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock, sim: SimState
) -> None:
    poller = make_poller(**LASTFM)
    await run(poller, clock, 1)
    quota = Fault("currently-playing", status=429, retry_after=49_861, reason="QUOTA_EXCEEDED")
    sim.faults.append(quota)
    await run(poller, clock, poller.settings.poll_interval * 2)
    assert poller.pause is not None and poller.pause.reason == "quota"  # Spotify is paused
    doc = await document(fake_store)
    assert doc["song"] is not None and doc["song"]["provider"] == "lastfm"
    assert doc["pausedUntil"] is None and doc["stale"] is False


async def test_with_no_stream_open_the_scrobblers_read_sparsely(
    make_poller: MakePoller, clock: ManualClock
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM, poll_mode="viewers")
    assert poller.round.slots
    delay = await poller.poll_round()
    assert poller.watched is False
    assert delay >= 59 > poller.settings.poll_interval  # not every POLL_INTERVAL


async def test_a_view_makes_every_scrobbler_due_at_once(
    make_poller: MakePoller, clock: ManualClock
) -> None:
    poller = make_poller(**NO_SPOTIFY, **LASTFM, poll_mode="viewers")
    await run(poller, clock, 1)
    assert poller.round.slots
    now = int(clock.now * 1000)
    poller.round.due_by(now)
    assert poller.round.slots["lastfm"].due_ms == now


async def test_a_scrobbler_poll_stamps_the_last_poll_the_web_reads(
    make_poller: MakePoller, fake_store: Store, clock: ManualClock
) -> None:
    """Else the web's freshness check finds no poll and every README view waits."""
    poller = make_poller(**NO_SPOTIFY, **LASTFM, poll_mode="viewers")
    await run(poller, clock, 1)
    assert poller.last_poll_ms is not None
    assert await poller.quota.last_poll() == poller.last_poll_ms
