"""Wrong admin tokens are slowed down per address (and logged
without the guess); /readyz and /metrics read Redis at most once a second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.conftest import ManualClock
from tests.webutil import web_client
from web.admin_guard import AttemptThrottle
from web.app import WebRuntime, build_app
from web.read_cache import Cached

ADMIN = "the-right-admin-token-0123456789"


def test_a_few_wrong_tokens_are_free_then_one_per_refill(clock: ManualClock) -> None:
    throttle = AttemptThrottle(burst=3, refill_s=10, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert throttle.retry_after("a") == pytest.approx(10)
    clock.advance(10)
    assert throttle.retry_after("a") == 0


def test_one_address_guessing_never_slows_another(clock: ManualClock) -> None:
    throttle = AttemptThrottle(burst=2, refill_s=10, clock=clock)
    for _ in range(100):
        throttle.failed("guesser")
    assert throttle.retry_after("guesser") > 0
    assert throttle.retry_after("owner") == 0


def test_the_right_token_passes_even_from_a_throttled_key_and_clears_it(
    clock: ManualClock,
) -> None:
    throttle = AttemptThrottle(burst=2, refill_s=10.0, clock=clock)
    assert [throttle.check("right", "wrong", "k") for _ in range(3)][-1] > 0
    assert throttle.check("right", "right", "k") is None
    assert throttle.check("right", "wrong", "k") == 0  # counted anew, not refused


def test_with_no_expected_token_every_guess_is_wrong(clock: ManualClock) -> None:
    assert AttemptThrottle(clock=clock).check(None, "", "k") == 0


def test_the_throttle_forgets_the_oldest_addresses_past_its_size(clock: ManualClock) -> None:
    throttle = AttemptThrottle(burst=1, refill_s=10, max_keys=100, clock=clock)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle.buckets) == 100


@pytest.fixture
async def app() -> AsyncIterator[WebRuntime]:
    store = Store(fakeredis.FakeAsyncRedis(), "ar")
    settings = Settings(
        redis_prefix="ar", admin_token=ADMIN, client_id="id", client_secret="secret"
    )
    runtime = WebRuntime(settings, store)
    yield runtime
    await runtime.http.aclose()


def client_from(runtime: WebRuntime, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(runtime), client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://np.test")


async def test_wrong_tokens_from_one_address_get_429_and_the_owner_elsewhere_gets_in(
    app: WebRuntime,
) -> None:
    async with client_from(app, "203.0.113.9") as guesser, client_from(app, "198.51.100.1") as me:
        codes = [
            (await guesser.get("/login", params={"token": f"guess-{i}"})).status_code
            for i in range(20)
        ]
        mine = await me.get("/login", params={"token": ADMIN})
    assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}
    assert mine.status_code == 302


async def test_a_throttled_answer_says_when_to_retry(app: WebRuntime) -> None:
    async with client_from(app, "203.0.113.9") as guesser:
        for i in range(6):
            r = await guesser.get("/login", params={"token": f"guess-{i}"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_a_wrong_token_is_logged_without_the_guess(
    app: WebRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "nowplaying.web")
    async with client_from(app, "203.0.113.9") as guesser:
        await guesser.get("/login", params={"token": "my-secret-guess-xyz"})
    assert "admin token" in caplog.text
    assert "my-secret-guess-xyz" not in caplog.text


async def test_a_flood_of_wrong_tokens_writes_one_log_line(
    app: WebRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "nowplaying.web")
    async with client_from(app, "203.0.113.9") as guesser:
        for i in range(50):
            await guesser.get("/login", params={"token": f"guess-{i}"})
    lines = [r for r in caplog.records if "admin token" in r.getMessage()]
    assert len(lines) == 1


async def test_the_right_token_gets_in_while_its_address_is_brute_forced(
    app: WebRuntime,
) -> None:
    async with client_from(app, "203.0.113.9") as guesser, client_from(app, "203.0.113.9") as me:
        for i in range(20):
            await guesser.get("/login", params={"token": f"guess-{i}"})
        throttled = await guesser.get("/login", params={"token": "guess-again"})
        mine = await me.get("/login", params={"token": ADMIN})
    assert throttled.status_code == 429
    assert mine.status_code == 302


async def test_the_right_token_clears_its_address_penalty(app: WebRuntime) -> None:
    async with client_from(app, "203.0.113.9") as client:
        for i in range(20):
            await client.get("/login", params={"token": f"guess-{i}"})
        await client.get("/login", params={"token": ADMIN})
        typo = await client.get("/login", params={"token": "a-typo"})
    assert typo.status_code == 403


async def test_concurrent_reads_share_one_fetch_within_a_second(clock: ManualClock) -> None:
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    cached = Cached(fetch, 1.0, clock=clock)
    assert await asyncio.gather(*(cached.get() for _ in range(50))) == [1] * 50
    clock.advance(0.5)
    assert await cached.get() == 1
    clock.advance(0.6)
    assert await cached.get() == 2


async def test_a_failure_is_remembered_for_a_second_too(clock: ManualClock) -> None:
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        raise ConnectionError("redis is down")

    cached = Cached(fetch, 1.0, clock=clock)
    for _ in range(10):
        with pytest.raises(ConnectionError):
            await cached.get()
    assert calls == 1


class CountingRedis(fakeredis.FakeAsyncRedis):  # type: ignore[misc]
    commands = 0

    async def execute_command(self, *args: object, **options: object) -> object:
        CountingRedis.commands += 1
        return await super().execute_command(*args, **options)


async def test_a_flood_of_readyz_and_metrics_reads_redis_once() -> None:
    store = Store(CountingRedis(), "rc")
    runtime = WebRuntime(Settings(redis_prefix="rc"), store)
    runtime.redis_reads.clock = lambda: 1000.0  # the whole flood within one second
    async with web_client(runtime) as client:
        await client.get("/readyz")
        before = CountingRedis.commands
        for _ in range(50):
            assert (await client.get("/readyz")).status_code == 503  # no poller: honest
            assert (await client.get("/metrics")).status_code == 200
        assert CountingRedis.commands == before
    await runtime.http.aclose()
