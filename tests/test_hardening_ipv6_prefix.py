"""CLIENT_IPV6_PREFIX applies to the admin-token throttle as to the stream and connection
caps: with 64 configured (the contract's unit), two /64s of one /56 are two clients."""

from __future__ import annotations

from shared.config import Settings
from shared.store import Store
from tests.webutil import web_client
from web.admin_guard import AdminGuard
from web.runtime import WebRuntime

ADMIN = "admin-token-for-tests-0123456789"
ONE = "2001:db8:1:100::1"  # 2001:db8:1:100::/64
OTHER = "2001:db8:1:1ff::1"  # another /64 of the same /56 (2001:db8:1:100::/56)


async def wrong_tokens(runtime: WebRuntime, address: str, count: int) -> list[int]:
    async with web_client(runtime, client=(address, 5000)) as client:
        return [
            (await client.get("/login", params={"token": "wrong"})).status_code
            for _ in range(count)
        ]


async def test_per_64_when_configured_so_the_neighbouring_64_is_not_throttled(
    fake_store: Store,
) -> None:
    settings = Settings(
        redis_prefix=fake_store.keys.prefix, admin_token=ADMIN, client_ipv6_prefix=64
    )
    runtime = WebRuntime(settings, fake_store)
    try:
        assert await wrong_tokens(runtime, ONE, 6) == [403] * 5 + [429]
        assert await wrong_tokens(runtime, OTHER, 1) == [403]
    finally:
        await runtime.http.aclose()


async def test_per_56_by_default_so_the_neighbouring_64_shares_the_throttle(
    fake_store: Store,
) -> None:
    settings = Settings(redis_prefix=fake_store.keys.prefix, admin_token=ADMIN)
    runtime = WebRuntime(settings, fake_store)
    try:
        assert await wrong_tokens(runtime, ONE, 5) == [403] * 5
        assert await wrong_tokens(runtime, OTHER, 1) == [429]
    finally:
        await runtime.http.aclose()


def test_the_guards_key_follows_its_prefix() -> None:
    class Peer:
        class client:
            host = ONE

    assert AdminGuard(ADMIN, ipv6_prefix=64).key(Peer()) == "2001:db8:1:100::/64"  # type: ignore[arg-type]
    assert AdminGuard(ADMIN).key(Peer()) == "2001:db8:1:100::/56"  # type: ignore[arg-type]


INGEST = "ingest-token-for-tests-0123456789"


async def wrong_ingest_tokens(runtime: WebRuntime, address: str, count: int) -> list[int]:
    async with web_client(runtime, client=(address, 5000)) as client:
        headers = {"Authorization": "Bearer wrong-token"}
        return [
            (await client.post("/api/ingest", json={"clear": True}, headers=headers)).status_code
            for _ in range(count)
        ]


async def test_the_ingest_throttle_follows_the_configured_prefix_too(fake_store: Store) -> None:
    settings = Settings(
        redis_prefix=fake_store.keys.prefix, ingest_token=INGEST, client_ipv6_prefix=64
    )
    runtime = WebRuntime(settings, fake_store)
    try:
        refused = await wrong_ingest_tokens(runtime, ONE, 12)
        assert refused[-1] == 429
        assert await wrong_ingest_tokens(runtime, OTHER, 1) == [401]
    finally:
        await runtime.http.aclose()
