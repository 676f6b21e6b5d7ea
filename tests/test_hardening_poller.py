"""A publish that keeps failing marks the stored data stale."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest

from nowplaying.simulator.spotify import SimState, build_app
from poller.service import PUBLISH_FAILURES_STALE, Poller
from shared.document import Document
from shared.store import Store, Transition
from tests.conftest import ManualClock, sim_settings


class RefusesFreshDocuments(Store):
    """A store that cannot take one kind of document (as Redis could not take a name
    with a lone surrogate): every non-stale write fails, a stale one goes through."""

    refuse = False

    async def transition(self, change: Transition) -> Document | None:
        if self.refuse:

            def guarded(stored: Document | None) -> Document | None:
                new = change(stored)
                if new is not None and not new["stale"]:
                    raise ValueError("cannot encode this document")
                return new

            return await super().transition(guarded)
        return await super().transition(change)


@pytest.fixture
async def setup(
    sim: SimState, clock: ManualClock
) -> AsyncIterator[tuple[Poller, RefusesFreshDocuments]]:
    store = RefusesFreshDocuments(fakeredis.FakeAsyncRedis(), "pf")
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        settings = sim_settings("http://sim.test", redis_prefix="pf")
        yield Poller(settings, store, http, clock=clock, seed=7), store


async def test_a_publish_that_keeps_failing_marks_the_data_stale(
    setup: tuple[Poller, RefusesFreshDocuments], sim: SimState, clock: ManualClock
) -> None:
    poller, store = setup
    await poller.poll_once()
    first = await store.current()
    assert first is not None and not first["stale"]
    store.refuse = True
    sim.player.skip(sim.clock())  # a new song that cannot be published
    for _ in range(PUBLISH_FAILURES_STALE):
        clock.advance(5)
        await poller.poll_once()
    doc = await store.current()
    assert doc is not None and doc["stale"] is True
    assert doc["song"] == first["song"]  # the last good song, marked stale


async def test_one_failed_publish_alone_does_not_mark_the_data_stale(
    setup: tuple[Poller, RefusesFreshDocuments], sim: SimState, clock: ManualClock
) -> None:
    poller, store = setup
    await poller.poll_once()
    store.refuse = True
    sim.player.skip(sim.clock())
    clock.advance(5)
    await poller.poll_once()
    doc = await store.current()
    assert doc is not None and doc["stale"] is False
