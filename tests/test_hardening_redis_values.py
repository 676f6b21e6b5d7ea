"""Bad values written into Redis by someone with write access: each leaves the web process
serving the last good document, and the next good document replaces it.

- a `version` far ahead (1e18) published once, never stored;
- the same stored, then replaced by a lower, real one;
- a list (another Redis type) in `P:current`, which the poller's publish replaces;
- documents that fail validation, logged as counts, never one line each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from shared.store import Store
from tests.conftest import RedisServer
from tests.webutil import document, publish, raw
from web.follower import follow
from web.hub import Hub

FAR = 10**18


def far(name: str = "Bogus") -> bytes:
    """A valid document but for its absurd version."""
    return raw(document(FAR, name, updatedAt=1_763_900_000_000))


async def until(check: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def following(store: Store) -> AsyncIterator[Hub]:
    hub = Hub()
    task = asyncio.create_task(follow(store, hub))
    try:
        await until(lambda: hub.redis_ok)
        yield hub
    finally:
        hub.closed = True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settle() -> None:
    """Time for a published message (and a re-read) to reach the hub."""
    await asyncio.sleep(0.2)


async def test_a_far_ahead_version_published_but_never_stored_does_not_stick(
    fake_store: Store,
) -> None:
    async with following(fake_store) as hub:
        good = await publish(fake_store, "Good Song")
        await until(lambda: hub.version == good["version"])
        await fake_store.redis.publish(fake_store.keys.updates, far())
        await settle()
        assert hub.version == good["version"] and hub.document["song"]["name"] == "Good Song"  # type: ignore[index]
        nxt = await publish(fake_store, "Next Song")
        await until(lambda: hub.version == nxt["version"])
        assert hub.document["song"]["name"] == "Next Song"  # type: ignore[index]


async def test_a_far_ahead_version_once_stored_then_replaced_by_a_lower_one_does_not_stick(
    fake_store: Store,
) -> None:
    async with following(fake_store) as hub:
        await publish(fake_store, "Good Song")
        bogus = far()
        await fake_store.redis.set(fake_store.keys.current, bogus)
        await fake_store.redis.publish(fake_store.keys.updates, bogus)
        await until(lambda: hub.version == FAR)  # it was stored: the truth for a while
        await fake_store.redis.set(fake_store.keys.current, raw(document(6, "Restored")))
        real = await publish(fake_store, "Real Song")  # the poller goes on from there
        assert real["version"] == 7
        await until(lambda: hub.version == 7)
        assert hub.document["song"]["name"] == "Real Song"  # type: ignore[index]


async def test_an_older_or_conflicting_published_document_is_settled_by_the_stored_one(
    fake_store: Store,
) -> None:
    async with following(fake_store) as hub:
        await publish(fake_store, "One")
        good = await publish(fake_store, "Two")
        await until(lambda: hub.version == good["version"])
        for impostor in (document(1, "Old"), document(good["version"], "Impostor")):
            await fake_store.redis.publish(fake_store.keys.updates, raw(impostor))
        await fake_store.redis.publish(
            fake_store.keys.updates, raw(document(good["version"] + 1, "Unstored next"))
        )
        await settle()
        # The unstored next version may have been taken (the next version is taken at
        # once: that is how the poller publishes) or settled back to the stored one; the
        # real next one, of the same version, replaces it either way.
        assert hub.version in (good["version"], good["version"] + 1)
        nxt = await publish(fake_store, "Three")
        await until(lambda: hub.document["song"]["name"] == "Three")  # type: ignore[index]
        assert hub.version == nxt["version"]


async def test_a_list_in_p_current_is_replaced_by_the_next_publish(fake_store: Store) -> None:
    async with following(fake_store) as hub:
        good = await publish(fake_store, "Good Song")
        await until(lambda: hub.version == good["version"])
        await fake_store.redis.delete(fake_store.keys.current)
        await fake_store.redis.rpush(fake_store.keys.current, "x", "y")  # type: ignore[misc]
        assert await fake_store.current_raw() is None and await fake_store.current() is None
        await settle()
        assert hub.version == good["version"]
        nxt = await asyncio.wait_for(publish(fake_store, "Next Song"), 2)
        await until(lambda: hub.document["song"]["name"] == "Next Song")  # type: ignore[index]
        assert nxt["version"] >= 1
        assert await fake_store.current() == nxt


async def test_a_follower_that_subscribes_while_p_current_is_a_list_keeps_running(
    fake_store: Store,
) -> None:
    await fake_store.redis.rpush(fake_store.keys.current, "x")  # type: ignore[misc]
    async with following(fake_store) as hub:
        assert hub.version == 0 and hub.reconnects == 0
        nxt = await publish(fake_store, "After The List")
        await until(lambda: hub.version == nxt["version"])


async def test_transition_replaces_a_list_on_a_real_redis(redis_server: RedisServer) -> None:
    client = aioredis.from_url(redis_server.url)
    store = Store(client, "wrongtype")
    try:
        await client.rpush(store.keys.current, "x")  # type: ignore[misc]
        done = await asyncio.wait_for(publish(store, "Good Song"), 2)
        assert done["version"] == 1 and await store.current() == done
        assert await client.type(store.keys.current) == b"string"
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "bad",
    [
        b"[1, 2, 3]",
        b"not json",
        raw(document(9, pausedUntil=10**20)),
        raw(document(9) | {"song": {"name": 1}}),  # type: ignore[arg-type]
    ],
)
async def test_an_invalid_document_is_ignored_and_the_next_good_one_taken(
    fake_store: Store, bad: bytes
) -> None:
    async with following(fake_store) as hub:
        good = await publish(fake_store, "Good Song")
        await until(lambda: hub.version == good["version"])
        await fake_store.redis.set(fake_store.keys.current, bad)
        await fake_store.redis.publish(fake_store.keys.updates, bad)
        await settle()
        assert hub.version == good["version"]
        nxt = await publish(fake_store, "Next Song")  # goes above the garbage's version
        await until(lambda: hub.document["song"]["name"] == "Next Song")  # type: ignore[index]
        assert hub.version == nxt["version"]


async def test_invalid_documents_are_logged_once_not_one_line_each(
    fake_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "nowplaying.web")
    async with following(fake_store) as hub:
        for _ in range(50):
            await fake_store.redis.publish(fake_store.keys.updates, b'{"version": "x"}')
        await until(lambda: hub.ignored.pending["invalid document"] == 49)
    lines = [r for r in caplog.records if "ignored documents" in r.getMessage()]
    assert len(lines) == 1 and "invalid document: 1" in lines[0].getMessage()
    assert '"x"' not in caplog.text  # never the bytes themselves
