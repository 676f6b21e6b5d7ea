"""The web side of the daily budget against the ASGI app: /readyz and /metrics report the budget and
the pause, and views that find the last poll old ask the poller for one."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from shared import budget
from shared.config import Settings
from shared.quota_store import Pause, QuotaStore
from shared.store import Store
from tests.webutil import web_client
from web.app import WebRuntime


@pytest.fixture
async def runtime(fake_store: Store) -> AsyncIterator[WebRuntime]:
    rt = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix, daily_budget=500), fake_store)
    yield rt
    await rt.http.aclose()


@pytest.fixture
async def client(runtime: WebRuntime) -> AsyncIterator[httpx.AsyncClient]:
    async with web_client(runtime) as c:
        yield c


def now_ms() -> int:
    return int(time.time() * 1000)


async def test_readyz_reports_calls_budget_and_pause(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    quota = QuotaStore(fake_store)
    for _ in range(3):
        await quota.reserve(now_ms(), 500)
    until = now_ms() + 3_600_000
    await quota.set_pause(Pause(until, "quota"), now_ms())
    r = await client.get("/readyz")
    assert r.json()["spotify"] == {"calls24h": 3, "budget": 500, "pausedUntil": until}


async def test_readyz_shows_the_quota_learnt_after_quota_exceeded_and_its_lower_budget(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    quota = QuotaStore(fake_store)
    for _ in range(101):  # the 101st was refused: Spotify's quota is 100
        await quota.reserve(now_ms(), 500)
    learnt_at = now_ms()
    pause = await quota.quota_exceeded(now_ms() + 3_600_000, learnt_at, 500)
    spotify = (await client.get("/readyz")).json()["spotify"]
    assert spotify == {
        "calls24h": 101,
        "budget": int(100 * budget.LEARNT_SHARE),
        "pausedUntil": pause.until_ms,
        "learntQuota": 100,
        "learntUntil": learnt_at + 7 * 24 * 3_600_000,  # it holds for a week
    }


async def test_metrics_has_the_three_budget_gauges(
    client: httpx.AsyncClient, fake_store: Store
) -> None:
    quota = QuotaStore(fake_store)
    await quota.reserve(now_ms(), 500)
    until = now_ms() + 60_000
    await quota.set_pause(Pause(until, "budget"), now_ms())
    text = (await client.get("/metrics")).text
    assert "nowplaying_spotify_calls_24h 1.0" in text
    assert "nowplaying_spotify_budget 500.0" in text
    line = next(x for x in text.splitlines() if x.startswith("nowplaying_spotify_paused_until"))
    assert float(line.split()[1]) == pytest.approx(until / 1000)


async def test_metrics_paused_until_is_zero_when_not_paused(client: httpx.AsyncClient) -> None:
    assert "nowplaying_spotify_paused_until_seconds 0.0" in (await client.get("/metrics")).text


async def test_a_view_with_no_poll_on_record_asks_for_one(
    runtime: WebRuntime, fake_store: Store
) -> None:
    pubsub = fake_store.redis.pubsub()
    await pubsub.subscribe(fake_store.keys.wake)
    await pubsub.get_message(timeout=1)
    await runtime.fresh(max_wait=0.0)
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
    assert message is not None and message["data"] == b"view"
    await pubsub.aclose()


async def test_a_view_right_after_a_poll_asks_for_nothing(
    runtime: WebRuntime, fake_store: Store
) -> None:
    await QuotaStore(fake_store).set_last_poll(now_ms())
    pubsub = fake_store.redis.pubsub()
    await pubsub.subscribe(fake_store.keys.wake)
    await pubsub.get_message(timeout=1)
    await runtime.fresh(max_wait=0.0)
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
    await pubsub.aclose()


async def test_the_svg_waits_for_a_requested_poll_no_longer_than_it_is_bounded(
    runtime: WebRuntime, client: httpx.AsyncClient, fake_store: Store
) -> None:
    pubsub = fake_store.redis.pubsub()  # a poller that listens but never polls
    await pubsub.subscribe(fake_store.keys.wake)
    started = time.monotonic()
    r = await client.get("/embed.svg")
    waited = time.monotonic() - started
    assert r.status_code == 200 and 1.4 <= waited < 2.5
    await pubsub.aclose()


async def test_json_reads_ask_for_at_most_one_poll_a_second(
    runtime: WebRuntime, client: httpx.AsyncClient, fake_store: Store
) -> None:
    pubsub = fake_store.redis.pubsub()
    await pubsub.subscribe(fake_store.keys.wake)
    await pubsub.get_message(timeout=1)
    started = time.monotonic()
    for _ in range(20):
        assert (await client.get("/api/now-playing")).status_code == 200
    seconds = time.monotonic() - started  # a loaded machine may need more than one
    heard = []
    while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3):
        heard.append(message["data"])
    assert heard[:1] == [b"view"] and len(heard) <= 1 + int(seconds), (heard, seconds)
    await pubsub.aclose()


async def test_one_shot_views_within_a_second_share_one_check(
    runtime: WebRuntime, fake_store: Store
) -> None:
    pubsub = fake_store.redis.pubsub()  # a listener, so each check that asks is heard
    await pubsub.subscribe(fake_store.keys.wake)
    await pubsub.get_message(timeout=1)
    started = time.monotonic()
    for _ in range(20):
        await runtime.fresh(max_wait=0.0)
    seconds = time.monotonic() - started
    heard = []
    while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3):
        heard.append(message["data"])
    assert heard[:1] == [b"view"] and len(heard) <= 1 + int(seconds), (heard, seconds)
    await pubsub.aclose()
