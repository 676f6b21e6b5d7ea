"""The hub's fan-out: frames written straight into parked streams, latest wins."""

from __future__ import annotations

import asyncio

from starlette.types import Message

from tests.webutil import document, raw
from web.fanout import PendingSend, Subscriber
from web.hub import Hub


class Sink:
    """An ASGI `send` that records bodies; while `gate` is clear it waits, like a socket
    whose client stopped reading."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, message: Message) -> None:
        await self.gate.wait()
        self.bodies.append(message["body"])


async def parked(hub: Hub, sink: Sink) -> tuple[Subscriber, asyncio.Task[object]]:
    subscriber = hub.subscribe()
    subscriber.send = sink
    subscriber.sent_version = hub.version
    task: asyncio.Task[object] = asyncio.create_task(subscriber.wait())
    await asyncio.sleep(0)
    assert subscriber.waiter is not None
    return subscriber, task


async def test_an_update_is_written_to_a_parked_stream_before_update_returns() -> None:
    hub, sink = Hub(), Sink()
    subscriber, task = await parked(hub, sink)
    hub.update(raw(document(7)))
    assert sink.bodies == [hub.frame] and b"id: 7\n" in hub.frame
    assert subscriber.sent_version == 7 and not task.done()  # its task slept through it
    task.cancel()


async def test_a_write_that_must_wait_is_handed_to_the_streams_own_task() -> None:
    hub, sink = Hub(), Sink()
    sink.gate.clear()
    _, task = await parked(hub, sink)
    hub.update(raw(document(3)))
    pending = await asyncio.wait_for(task, 1)
    assert isinstance(pending, PendingSend) and sink.bodies == []
    finishing = asyncio.create_task(pending.finish())
    await asyncio.sleep(0.01)
    assert not finishing.done()
    sink.gate.set()
    await asyncio.wait_for(finishing, 1)
    assert sink.bodies == [hub.frame]


async def test_a_busy_stream_is_skipped_and_keeps_its_last_version() -> None:
    hub, sink = Hub(), Sink()
    subscriber = hub.subscribe()
    subscriber.send = sink  # not parked: its task is busy elsewhere
    hub.update(raw(document(4)))
    assert sink.bodies == [] and subscriber.sent_version == -1


async def test_a_close_that_lands_while_the_task_is_busy_is_not_lost() -> None:
    subscriber = Subscriber()
    subscriber.close()
    assert await asyncio.wait_for(subscriber.wait(), 1) is None


async def test_ping_writes_a_comment_only_to_parked_streams() -> None:
    hub, sink, busy_sink = Hub(), Sink(), Sink()
    _, task = await parked(hub, sink)
    busy = hub.subscribe()
    busy.send = busy_sink
    hub.ping_all()
    assert sink.bodies == [b": ping\n\n"] and busy_sink.bodies == []
    task.cancel()


async def test_a_stream_stuck_in_a_send_past_the_timeout_is_cancelled() -> None:
    hub = Hub()
    stuck, fine = hub.subscribe(), hub.subscribe()
    stuck.task = asyncio.create_task(asyncio.sleep(60))
    fine.task = asyncio.create_task(asyncio.sleep(60))
    stuck.sending_since, fine.sending_since = 100.0, 109.0
    assert hub.reap_stuck(now=111.0, timeout_s=10.0) == 1
    await asyncio.sleep(0)
    assert stuck.reaped and stuck.task.cancelled()
    assert not fine.reaped and not fine.task.done()
    fine.task.cancel()


async def test_a_local_stale_mark_keeps_the_version_and_reaches_parked_streams() -> None:
    hub, sink = Hub(), Sink()
    hub.update(raw(document(5)))
    _, task = await parked(hub, sink)
    assert hub.mark_stale(now_ms=1_763_900_099_000)
    assert hub.version == 5 and hub.document["stale"] and hub.local
    assert b'"stale":true' in sink.bodies[0]
    assert not hub.mark_stale(now_ms=1_763_900_100_000)  # once is enough
    task.cancel()


async def test_redis_coming_back_with_the_same_version_replaces_the_local_mark() -> None:
    hub = Hub()
    hub.update(raw(document(5)))
    hub.mark_stale(now_ms=1_763_900_099_000)
    assert hub.update(raw(document(5)))
    assert not hub.document["stale"] and not hub.local


async def test_an_equal_version_never_replaces_a_document_read_from_redis() -> None:
    hub = Hub()
    hub.update(raw(document(5, "First")))
    assert not hub.update(raw(document(5, "Impostor")))
    assert hub.document["song"] is not None and hub.document["song"]["name"] == "First"
