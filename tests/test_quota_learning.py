"""Spotify's errors as they are, through Spotify's source on fakeredis: the plain-text
403s of Development Mode, a QUOTA_EXCEEDED with a day-long Retry-After, the quota it
teaches (kept across a restart), and pausedUntil when a quota pause and a spent budget
both hold. Answers are the recorded shapes, served by an httpx MockTransport; no timing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import fakeredis
import httpx
import pytest

from poller.providers.spotify.source import SpotifySource
from poller.source import SourceError
from shared import budget, setup_errors
from shared.config import Settings
from shared.quota_store import QuotaStore
from shared.store import Store
from tests.conftest import ManualClock

QUOTA_BODY = {"error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}}


def settings(daily_budget: int = 1000) -> Settings:
    return Settings(
        client_id="id",
        client_secret="secret",
        refresh_token="refresh",
        accounts_url="http://spotify",
        api_url="http://spotify/v1",
        daily_budget=daily_budget,
    )


def source(
    store: Store, clock: ManualClock, answer: Callable[[], httpx.Response], daily_budget: int
) -> SpotifySource:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer()))
    return SpotifySource(settings(daily_budget), store, http, clock)


async def prepared(clock: ManualClock, calls: int, spread_s: float = 3600.0) -> Store:
    """A store with a valid access token and `calls` calls in the window, evenly over the
    last `spread_s` seconds."""
    store = Store(fakeredis.FakeAsyncRedis(), "learn")
    now = clock.ms()
    await store.set_access_token("token", now + 3_600_000, 3600)
    start, step = now - int(spread_s * 1000), int(spread_s * 1000) // max(1, calls)
    stamps = {f"call{i}": start + i * step for i in range(calls)}
    if stamps:
        await store.redis.zadd(store.keys.spotify_calls, stamps)
    return store


async def read_error(spotify: SpotifySource, clock: ManualClock) -> SourceError:
    with pytest.raises(SourceError) as caught:
        await spotify.read(clock.ms())
    return caught.value


# -- 403s -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ("User not registered in the Developer Dashboard", setup_errors.USER_NOT_REGISTERED),
        (
            "Active premium subscription required for the owner of the app",
            setup_errors.PREMIUM_REQUIRED,
        ),
        ("The user may not be registered.", setup_errors.USER_NOT_REGISTERED),
    ],
)
async def test_each_plain_text_403_names_its_setup_cause(
    clock: ManualClock, body: str, cause: str
) -> None:
    store = await prepared(clock, 0)
    answer = httpx.Response(403, text=body, headers={"content-type": "text/plain"})
    error = await read_error(source(store, clock, lambda: answer, 1000), clock)
    assert error.kind == "auth" and error.cause == cause


async def test_a_json_403_without_a_known_message_is_no_setup_error(clock: ManualClock) -> None:
    store = await prepared(clock, 0)
    answer = httpx.Response(403, json={"error": {"status": 403, "message": "Forbidden"}})
    error = await read_error(source(store, clock, lambda: answer, 1000), clock)
    assert error.kind == "unavailable" and error.cause is None


# -- QUOTA_EXCEEDED ---------------------------------------------------------------------


def quota_exceeded(retry_after: str | None) -> httpx.Response:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    return httpx.Response(429, json=QUOTA_BODY, headers=headers)


async def test_a_day_long_retry_after_pauses_spotify_for_that_day(clock: ManualClock) -> None:
    store = await prepared(clock, 10)
    spotify = source(store, clock, lambda: quota_exceeded("86400"), 5000)
    error = await read_error(spotify, clock)
    assert error.kind == "paused"
    assert spotify.pause is not None and spotify.pause.reason == "quota"
    assert spotify.pause.until_ms == clock.ms() + 86_400_000
    stored = await QuotaStore(store).pause(clock.ms())
    assert stored is not None and stored.until_ms == clock.ms() + 86_400_000


async def test_a_429_without_retry_after_is_a_30_second_pause(clock: ManualClock) -> None:
    store = await prepared(clock, 10)
    answer = httpx.Response(429, json={"error": {"status": 429, "message": "rate limited"}})
    error = await read_error(source(store, clock, lambda: answer, 1000), clock)
    assert error.kind == "rate_limited" and error.retry_after_s == pytest.approx(30.0)


async def test_the_quota_learnt_after_quota_exceeded_survives_a_restart(
    clock: ManualClock,
) -> None:
    store = await prepared(clock, 1100)  # Spotify took 1,100; the next one is refused
    first = source(store, clock, lambda: quota_exceeded("49861"), 5000)
    await read_error(first, clock)
    assert first.learnt == 1100
    assert first.budget == int(1100 * budget.LEARNT_SHARE)
    # A restart: a new source on the same Redis spends the learnt budget, not 5,000.
    restarted = source(store, clock, lambda: quota_exceeded("1"), 5000)
    await restarted._allocate(clock.ms(), watched=False, playing=False)
    assert restarted.learnt == 1100 and restarted.budget == first.budget
    assert await QuotaStore(store).learnt() == 1100


async def test_the_log_says_the_learnt_quota_holds_for_the_week(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = await prepared(clock, 1100)
    caplog.set_level(logging.WARNING, logger="nowplaying.poller")
    await read_error(source(store, clock, lambda: quota_exceeded("49861"), 5000), clock)
    said = [r.getMessage() for r in caplog.records if "quota is about 1100" in r.getMessage()]
    assert len(said) == 1 and "for the next 7 days" in said[0]


async def test_paused_until_is_the_later_of_the_quota_pause_and_the_spent_budget(
    clock: ManualClock,
) -> None:
    # 1,100 calls in the last hour, the budget 1,000: Spotify's 60-s pause ends long
    # before the budget frees a call (the 101st oldest call leaves the window).
    store = await prepared(clock, 1100)
    spotify = source(store, clock, lambda: quota_exceeded("60"), 1000)
    await read_error(spotify, clock)
    window = await QuotaStore(store).calls_window(clock.ms())
    budget_frees = window[len(window) - 1000] + budget.WINDOW_MS
    assert spotify.pause is not None and spotify.pause.until_ms == budget_frees
    assert spotify.pause.until_ms > clock.ms() + 60_000
    stored = await QuotaStore(store).pause(clock.ms())
    assert stored is not None and stored.until_ms == budget_frees


async def test_a_quota_pause_outlasting_the_spent_budget_is_kept(clock: ManualClock) -> None:
    store = await prepared(clock, 1100, spread_s=86_000)  # the learnt budget frees soon
    spotify = source(store, clock, lambda: quota_exceeded("49861"), 5000)
    await read_error(spotify, clock)
    assert spotify.pause is not None and spotify.pause.until_ms == clock.ms() + 49_861_000


# -- a restart --------------------------------------------------------------------------


async def test_a_new_leader_with_a_fresh_stored_document_costs_no_extra_call(
    clock: ManualClock,
) -> None:
    from poller.service import Poller
    from tests.payloads import currently_playing, track

    store = await prepared(clock, 0)
    served: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        served.append(request.url.path)
        body = currently_playing(track(duration_ms=200_000), progress_ms=10_000)
        return httpx.Response(200, json=body)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    first = Poller(settings(), store, http, clock=clock, seed=1)
    first.is_leader = True
    await first.tick()
    await first.keepalive()  # its heartbeat carries the next poll it planned
    await first.stop()
    assert len(served) == 1
    clock.advance(5)
    second = Poller(settings(), store, http, clock=clock, seed=2)
    await second.keepalive()  # leads now: the stored document is fresh
    assert second.is_leader and len(served) == 1
    assert second.next_poll_ms is not None and second.next_poll_ms > clock.ms()
    await second.stop()
    await http.aclose()


async def test_the_demand_of_an_hour_survives_a_restart_within_it(clock: ManualClock) -> None:
    """A poller restarted every hour still learns the day's shape: the one that stops
    records the hour so far, the next goes on from it."""
    clock.now = 3600.0 * (int(clock.now) // 3600 + 1)  # the top of an hour
    hour = clock.ms() // 3_600_000
    store = await prepared(clock, 0)
    first = source(store, clock, lambda: httpx.Response(204), 1000)
    for _ in range(21):  # watched while music plays, read every 60 s: 20 min of demand
        await first._allocate(clock.ms(), watched=True, playing=True)
        clock.advance(60)
    await first.flush_demand()
    restarted = source(store, clock, lambda: httpx.Response(204), 1000)
    while clock.now <= 3600.0 * (hour + 1):  # the rest of the hour, and the next one's top
        await restarted._allocate(clock.ms(), watched=True, playing=True)
        clock.advance(60)
    recorded = {index: demand for index, demand, _ in await QuotaStore(store).profile_hours()}
    # The whole hour but the minute between the two pollers' reads.
    assert recorded[hour] == pytest.approx(3600 - 60)


async def test_a_spent_budget_that_frees_a_call_before_the_planned_read_pauses_nothing(
    clock: ManualClock,
) -> None:
    """At the edge of a spent window a call frees every few seconds: the next read waits
    for the allocator's plan instead of taking each call as it frees."""
    store = await prepared(clock, 10, spread_s=86_395)  # the oldest frees in 5 s
    spotify = source(store, clock, lambda: httpx.Response(204), 10)
    delay = await spotify.next_delay(clock.ms(), None, None, watched=True)
    assert delay > 5.0
    assert await QuotaStore(store).pause(clock.ms()) is None


async def test_a_spent_budget_that_blocks_the_planned_read_pauses_at_once(
    clock: ManualClock,
) -> None:
    store = await prepared(clock, 10)  # spent within the last hour: frees in 23 h
    spotify = source(store, clock, lambda: httpx.Response(204), 10)
    delay = await spotify.next_delay(clock.ms(), None, None, watched=True)
    pause = await QuotaStore(store).pause(clock.ms())
    assert delay < 1.0 and pause is not None and pause.reason == "budget"
