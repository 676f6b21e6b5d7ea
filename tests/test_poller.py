"""One poll at a time against the in-process simulator, on a manual clock.

Each fault test asserts Spotify call counts as the simulator recorded them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from nowplaying.simulator.spotify import Fault, SimState, build_app
from poller.service import Poller
from shared.heartbeat import DAY_MS, TOKEN_LIFETIME_DAYS
from shared.store import Store
from tests.conftest import ManualClock, sim_settings


@pytest.fixture
async def poller(fake_store: Store, sim: SimState, clock: ManualClock) -> AsyncIterator[Poller]:
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        settings = sim_settings("http://sim.test", redis_prefix=fake_store.keys.prefix)
        yield Poller(settings, fake_store, http, clock=clock, seed=7)


async def test_a_playing_track_is_published_with_version_one(
    poller: Poller, fake_store: Store
) -> None:
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["version"] == 1 and doc["stale"] is False
    assert doc["song"] is not None and doc["song"]["name"] == "Never Gonna Give You Up"
    assert doc["song"]["isPlaying"] is True


async def test_the_document_is_published_on_the_updates_channel(
    poller: Poller, fake_store: Store
) -> None:
    pubsub = fake_store.redis.pubsub()
    await pubsub.subscribe(fake_store.keys.updates)
    await pubsub.get_message(timeout=1)
    await poller.poll_once()
    message = await pubsub.get_message(timeout=1)
    assert message is not None and message["data"] == await fake_store.current_raw()
    await pubsub.aclose()


async def test_currently_playing_is_asked_with_additional_types(
    poller: Poller, sim: SimState, fake_store: Store
) -> None:
    sim.player.set_state(sim.clock(), index=3)  # the podcast episode
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["song"] is not None and doc["song"]["type"] == "episode"


async def test_natural_progress_publishes_nothing_new(
    poller: Poller, clock: ManualClock, fake_store: Store
) -> None:
    await poller.poll_once()
    for _ in range(5):
        clock.advance(5)
        await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["version"] == 1


async def test_a_skip_publishes_a_new_version(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.player.skip(sim.clock())
    clock.advance(5)
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["version"] == 2
    assert doc["song"] is not None and doc["song"]["name"] == "Midnight Circuits"


async def test_a_seek_publishes_a_new_version(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.player.set_state(sim.clock(), position_ms=150_000)
    clock.advance(5)
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["version"] == 2


async def test_nothing_playing_falls_back_to_recently_played_once_per_idle_spell(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    for _ in range(4):
        await poller.poll_once()
        clock.advance(5)
    doc = await fake_store.current()
    assert doc is not None and doc["song"] is not None
    assert doc["song"]["source"] == "recent" and doc["song"]["isPlaying"] is False
    assert doc["song"]["playedAt"] is not None
    assert sim.calls["currently-playing 204"] == 4
    assert sim.calls["recently-played"] == 1


async def test_an_ad_falls_back_to_recently_played(
    poller: Poller, sim: SimState, fake_store: Store
) -> None:
    sim.player.set_state(sim.clock(), mode="ad")
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["song"] is not None and doc["song"]["source"] == "recent"


async def test_a_new_idle_spell_asks_recently_played_again(
    poller: Poller, clock: ManualClock, sim: SimState
) -> None:
    sim.player.set_state(sim.clock(), mode="stopped")
    await poller.poll_once()
    sim.player.set_state(sim.clock(), mode="playing")
    clock.advance(5)
    await poller.poll_once()
    sim.player.set_state(sim.clock(), mode="stopped")
    clock.advance(5)
    await poller.poll_once()
    clock.advance(2)  # a 204 right after playing is confirmed by one more poll
    await poller.poll_once()
    assert sim.calls["recently-played"] == 2


async def test_a_401_refreshes_once_and_retries_once(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    for token in sim.access_tokens:
        sim.access_tokens[token] = 0
    clock.advance(5)
    await poller.poll_once()
    assert sim.calls["currently-playing 401"] == 1
    assert sim.calls["token 200"] == 2
    assert sim.calls["currently-playing 200"] == 2


async def test_a_429_stops_every_call_until_retry_after_has_passed(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.faults.append(Fault("currently-playing", status=429, retry_after=20))
    clock.advance(5)
    delay = await poller.poll_once()
    assert 19 <= delay <= 20
    for _ in range(3):
        clock.advance(5)
        await poller.poll_once()
    assert sim.calls_while_blocked == 0
    calls_before = sim.calls["currently-playing"]
    clock.advance(6)
    await poller.poll_once()
    assert sim.calls["currently-playing"] == calls_before + 1


async def test_a_429_without_retry_after_waits_thirty_seconds(
    poller: Poller, clock: ManualClock, sim: SimState
) -> None:
    sim.faults.append(Fault("currently-playing", status=429, retry_after=None))
    delay = await poller.poll_once()
    assert delay == pytest.approx(30, abs=0.01)


async def test_server_errors_back_off_and_keep_the_last_song_then_turn_stale(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.faults.append(Fault("currently-playing", status=500, times=10))
    delays = []
    for _ in range(5):
        clock.advance(5)
        delays.append(await poller.poll_once())
    assert delays[-1] > delays[0]
    doc = await fake_store.current()
    assert doc is not None and doc["stale"] is True
    assert doc["song"] is not None and doc["song"]["name"] == "Never Gonna Give You Up"


async def test_recovery_clears_stale(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.faults.append(Fault("currently-playing", status=500, times=4))
    for _ in range(5):
        clock.advance(5)
        await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["stale"] is False and doc["version"] == 3


async def test_malformed_json_is_a_transient_failure(
    poller: Poller, sim: SimState, fake_store: Store
) -> None:
    sim.faults.append(Fault("currently-playing", malformed=True))
    await poller.poll_once()
    assert poller.failures == 1 and await fake_store.current() is None


async def test_a_hanging_answer_is_cut_by_the_poll_timeout(
    fake_store: Store, sim: SimState, clock: ManualClock
) -> None:
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        settings = sim_settings("http://sim.test", poll_interval=1.0)
        poller = Poller(settings, fake_store, http, clock=clock)
        sim.faults.append(Fault("currently-playing", status=200, delay_s=5))
        await poller.poll_once()
    assert poller.state == "error" and poller.failures == 1


async def test_invalid_grant_is_an_auth_error_retried_every_five_minutes(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    sim.refresh_tokens[sim_settings("x").refresh_token or ""] = False
    await poller.poll_once()
    assert poller.auth_error is not None and poller.state == "auth_error"
    for _ in range(10):
        clock.advance(5)
        await poller.poll_once()
    assert sim.calls["token"] == 1
    clock.advance(300)
    await poller.poll_once()
    assert sim.calls["token"] == 2


async def test_a_new_stored_refresh_token_recovers_from_invalid_grant_on_the_next_poll(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    sim.refresh_tokens[sim_settings("x").refresh_token or ""] = False
    await poller.poll_once()
    sim.refresh_tokens["fresh-token"] = True
    await fake_store.store_refresh_token("fresh-token", authorized_at=clock.ms())
    clock.advance(5)
    await poller.poll_once()
    doc = await fake_store.current()
    assert poller.auth_error is None
    assert doc is not None and doc["stale"] is False and doc["song"] is not None


async def test_an_auth_error_keeps_the_last_song_marked_stale(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.refresh_tokens[sim_settings("x").refresh_token or ""] = False
    for token in sim.access_tokens:
        sim.access_tokens[token] = 0
    await fake_store.clear_access_token()
    poller.spotify.tokens._cached = None  # type: ignore[union-attr]
    clock.advance(5)
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["stale"] is True and doc["song"] is not None


async def test_versions_continue_above_the_last_published_after_redis_is_flushed(
    poller: Poller, clock: ManualClock, sim: SimState, fake_store: Store
) -> None:
    await poller.poll_once()
    sim.player.skip(sim.clock())
    clock.advance(5)
    await poller.poll_once()
    await fake_store.redis.flushall()
    clock.advance(5)
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["version"] == 3


async def test_poll_outcomes_and_spotify_calls_are_counted_in_redis(
    poller: Poller, fake_store: Store
) -> None:
    await poller.poll_once()
    stats = await fake_store.stats()
    assert stats["poll:ok"] == 1
    assert stats["spotify:currently-playing:200"] == 1 and stats["spotify:token:200"] == 1


async def test_a_token_near_its_six_month_expiry_is_warned_about_once_a_day(
    poller: Poller, fake_store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    days_ago = TOKEN_LIFETIME_DAYS - 10  # ten days left
    await fake_store.store_refresh_token(
        "sim-refresh-token", authorized_at=clock.ms() - days_ago * DAY_MS
    )
    caplog.set_level("WARNING", logger="nowplaying.poller")
    for _ in range(3):
        await poller.keepalive()
    warnings = [r.getMessage() for r in caplog.records if "expires in" in r.getMessage()]
    assert len(warnings) == 1 and "10.0 days" in warnings[0]
    clock.advance(DAY_MS / 1000)
    await poller.keepalive()
    warnings = [r.getMessage() for r in caplog.records if "expires in" in r.getMessage()]
    assert len(warnings) == 2 and "9.0 days" in warnings[1]


async def test_a_token_far_from_expiry_is_not_warned_about(
    poller: Poller, fake_store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await fake_store.store_refresh_token("sim-refresh-token", authorized_at=clock.ms())
    caplog.set_level("WARNING", logger="nowplaying.poller")
    await poller.keepalive()
    assert not [r for r in caplog.records if "expires in" in r.getMessage()]
