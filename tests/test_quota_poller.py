"""The poller against the budget, the quota pause and demand, on a manual clock with the
in-process simulator and fakeredis; the atomic reservation also on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from nowplaying.simulator.spotify import Fault, Quota, SimState, build_app
from poller.service import Poller
from shared.config import Settings
from shared.quota_store import Pause, QuotaStore
from shared.store import Store, connect
from tests.conftest import ManualClock, RedisServer, sim_settings


def make_poller(
    store: Store, http: httpx.AsyncClient, clock: ManualClock, **overrides: object
) -> Poller:
    settings = sim_settings("http://sim.test", redis_prefix=store.keys.prefix, **overrides)
    return Poller(settings, store, http, clock=clock, seed=7)


@pytest.fixture
async def http(sim: SimState) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim))) as client:
        yield client


def spotify_calls(sim: SimState) -> int:
    return sum(v for k, v in sim.calls.items() if " " not in k)


async def test_the_poller_never_passes_its_daily_budget(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock, daily_budget=10)
    for _ in range(30):
        await poller.poll_once()
        clock.advance(5)
    assert spotify_calls(sim) == 10
    assert await QuotaStore(fake_store).calls_24h(clock.ms()) == 10


async def test_a_spent_budget_shows_in_the_document_as_paused_and_stale(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock, daily_budget=10)
    for _ in range(12):
        await poller.poll_once()
        clock.advance(5)
    doc = await fake_store.current()
    assert doc is not None and doc["stale"] is True and doc["song"] is not None
    assert doc["pausedUntil"] is not None and doc["pausedUntil"] > clock.ms()


async def test_quota_exceeded_pauses_every_poller_until_retry_after(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    first = make_poller(fake_store, http, clock)
    await first.poll_once()
    sim.faults.append(Fault("any", status=429, retry_after=3600, reason="QUOTA_EXCEEDED"))
    await first.poll_once()
    calls = spotify_calls(sim)
    second = make_poller(fake_store, http, clock)  # a restarted or newly elected poller
    clock.advance(60)
    await second.poll_once()
    await first.poll_once()
    assert spotify_calls(sim) == calls
    pause = await QuotaStore(fake_store).pause(clock.ms())
    assert pause is not None and pause.reason == "quota"


async def test_quota_exceeded_sets_paused_until_to_retry_after(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()
    sim.faults.append(Fault("any", status=429, retry_after=3600, reason="QUOTA_EXCEEDED"))
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["stale"] is True
    assert doc["pausedUntil"] == clock.ms() + 3_600_000


async def test_the_quota_pause_ends_on_time_and_clears_paused_until(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()
    sim.faults.append(Fault("any", status=429, retry_after=600, reason="QUOTA_EXCEEDED"))
    await poller.poll_once()
    clock.advance(601)
    await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["pausedUntil"] is None and doc["stale"] is False


async def test_a_rate_limit_429_without_reason_is_no_quota_pause(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()
    sim.faults.append(Fault("currently-playing", status=429, retry_after=20))
    await poller.poll_once()
    doc = await fake_store.current()
    assert await QuotaStore(fake_store).pause(clock.ms()) is None
    assert doc is not None and doc["pausedUntil"] is None


async def test_the_simulated_quota_answers_quota_exceeded_with_retry_after(
    sim: SimState, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    sim.quota = Quota(2, window_s=100)
    for _ in range(2):
        await http.post("http://sim.test/api/token")
        clock.advance(10)
    r = await http.post("http://sim.test/api/token")
    assert r.status_code == 429 and r.json()["error"]["reason"] == "QUOTA_EXCEEDED"
    assert r.headers["retry-after"] == "80"  # the first call leaves the window at 100 s


async def test_a_stray_204_between_two_answers_does_not_flip_the_card(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()
    before = await fake_store.current()
    sim.player.set_state(sim.clock(), mode="stopped")  # one 204 ...
    clock.advance(5)
    await poller.poll_once()
    clock.advance(2)  # ... then the same item again, where it would be by now
    assert before is not None and before["song"] is not None
    position = before["song"]["progressMs"] or 0
    sim.player.set_state(sim.clock(), mode="playing", position_ms=position + 7000)
    await poller.poll_once()
    after = await fake_store.current()
    assert after is not None and after["version"] == before["version"]


async def test_two_204_in_a_row_show_nothing_playing(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()
    sim.player.set_state(sim.clock(), mode="stopped")
    for _ in range(2):
        clock.advance(2)
        await poller.poll_once()
    doc = await fake_store.current()
    assert doc is not None and doc["song"] is not None and doc["song"]["source"] == "recent"


async def test_an_open_stream_makes_the_poller_watched(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock, poll_mode="viewers")
    await QuotaStore(fake_store).report_demand("web1", 1, clock.ms() + 15_000)
    assert await poller.poll_once() == 5.0


async def test_with_no_stream_open_the_poller_waits_for_the_end_of_the_track(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock, poll_mode="viewers")
    assert await poller.poll_once() > 30.0


async def test_a_dead_web_process_stops_counting_as_demand(
    fake_store: Store, clock: ManualClock
) -> None:
    quota = QuotaStore(fake_store)
    await quota.report_demand("gone", 3, clock.ms() - 1)
    await quota.report_demand("alive", 2, clock.ms() + 10_000)
    assert await quota.demand(clock.ms()) == 2


async def test_no_reservation_is_made_during_a_stored_pause(
    fake_store: Store, clock: ManualClock
) -> None:
    quota = QuotaStore(fake_store)
    await quota.set_pause(Pause(clock.ms() + 60_000, "quota"), clock.ms())
    reservation = await quota.reserve(clock.ms(), 1000)
    assert not reservation.allowed and await quota.calls_24h(clock.ms()) == 0


async def test_concurrent_reservations_never_pass_the_budget_on_real_redis(
    redis_server: RedisServer,
) -> None:
    stores = [Store(connect(redis_server.url), "race") for _ in range(4)]
    quotas = [QuotaStore(s) for s in stores]
    now = 1_763_900_000_000
    results = await asyncio.gather(*(quotas[i % 4].reserve(now + i, 25) for i in range(80)))
    assert sum(r.allowed for r in results) == 25
    assert await quotas[0].calls_24h(now + 100) == 25
    for store in stores:
        await store.close()


async def test_the_budget_counts_the_token_endpoint_too(
    fake_store: Store, http: httpx.AsyncClient, sim: SimState, clock: ManualClock
) -> None:
    poller = make_poller(fake_store, http, clock)
    await poller.poll_once()  # a token refresh and a currently-playing call
    assert sim.calls["token"] == 1
    assert await QuotaStore(fake_store).calls_24h(clock.ms()) == spotify_calls(sim) == 2


def test_settings_carry_the_budget() -> None:
    assert Settings(daily_budget=50).daily_budget == 50


class DrivenPoller(Poller):
    """The poller with its scheduler replaced by a list of planned delays."""

    planned: list[float]

    def _schedule_poll(self, delay_s: float) -> None:
        super()._schedule_poll(delay_s)
        self.planned.append(delay_s)

    def scheduler_missing(self) -> bool:
        return False


async def driven(store: Store, http: httpx.AsyncClient, clock: ManualClock) -> DrivenPoller:
    settings = sim_settings("http://sim.test", redis_prefix=store.keys.prefix, poll_mode="viewers")
    poller = DrivenPoller(settings, store, http, clock=clock, seed=7)
    poller.planned, poller.is_leader = [], True
    await poller.tick()  # one poll with nobody watching: the next is far away
    return poller


async def test_a_view_wakes_the_poller_at_once(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = await driven(fake_store, http, clock)
    clock.advance(40)
    assert poller.on_wake("view") and poller.planned[-1] == 0


async def test_views_right_after_a_poll_share_it(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = await driven(fake_store, http, clock)
    clock.advance(0.5)
    assert not poller.on_wake("view")


async def test_a_new_stream_brings_the_next_poll_to_poll_interval(
    fake_store: Store, http: httpx.AsyncClient, clock: ManualClock
) -> None:
    poller = await driven(fake_store, http, clock)
    assert poller.planned[-1] > 30
    clock.advance(2)
    assert poller.on_wake("stream") and poller.planned[-1] == pytest.approx(3.0)
