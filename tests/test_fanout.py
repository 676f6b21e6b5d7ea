"""web/fanout.py's preconditions, each checked: the hand-driven first step of a stream's
`send`, what it may yield, and what a Python whose asyncio internals change would break."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from starlette.types import Message

from shared.config import Settings
from shared.store import Store
from web.app import build_app
from web.fanout import Delivery, PendingSend, Subscriber, body_message
from web.runtime import WebRuntime

MESSAGE = body_message(b"data: x\n\n")


async def parked(send: Any) -> tuple[Subscriber, asyncio.Task[Any]]:
    subscriber = Subscriber()
    subscriber.send = send
    task = asyncio.create_task(subscriber.wait())
    await asyncio.sleep(0)
    assert subscriber.waiter is not None
    return subscriber, task


# -- precondition 1: the stream's send is the server's own --------------------------------


async def test_a_streams_send_is_the_servers_own_and_no_middlewares(fake_store: Store) -> None:
    runtime = WebRuntime(Settings(redis_prefix=fake_store.keys.prefix), fake_store)
    app = build_app(runtime)
    disconnect = asyncio.Event()
    sent: list[Message] = []

    async def server_send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/stream",
        "raw_path": b"/api/stream",
        "query_string": b"",
        "headers": [],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("np.test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    stream = asyncio.create_task(app(scope, receive, server_send))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if any(s.send is not None for s in runtime.hub.subscribers):
            break
    (subscriber,) = runtime.hub.subscribers
    assert subscriber.send is server_send  # a middleware would have wrapped it
    disconnect.set()
    await asyncio.wait_for(stream, 2)
    await runtime.http.aclose()


# -- precondition 3 and 4: what a step may yield, and finishing it ------------------------


async def test_a_send_that_completes_in_its_first_step_needs_no_task() -> None:
    bodies: list[Message] = []

    async def send(message: Message) -> None:
        bodies.append(message)

    subscriber, task = await parked(send)
    assert subscriber.push(MESSAGE) and bodies == [MESSAGE]
    await asyncio.sleep(0)
    assert not task.done()  # the stream's task slept through it
    task.cancel()


async def test_a_send_that_yields_a_bare_none_is_finished_by_the_streams_task() -> None:
    bodies: list[Message] = []

    async def send(message: Message) -> None:
        await asyncio.sleep(0)  # yields None to the loop
        bodies.append(message)

    subscriber, task = await parked(send)
    assert subscriber.push(MESSAGE) and bodies == []
    pending = await task
    assert isinstance(pending, PendingSend) and pending.blocker is None
    await asyncio.wait_for(pending.finish(), 1)
    assert bodies == [MESSAGE]


async def test_a_send_that_raises_ends_only_its_own_stream() -> None:
    bodies: list[Message] = []

    async def broken(message: Message) -> None:
        raise ConnectionResetError

    async def fine(message: Message) -> None:
        bodies.append(message)

    (bad, bad_task), (good, _) = await parked(broken), await parked(fine)
    assert not bad.push(MESSAGE)
    assert good.push(MESSAGE) and bodies == [MESSAGE]
    assert await bad_task is None  # woken to end


async def test_a_send_that_yields_something_else_is_refused_like_a_task_would() -> None:
    class Odd:
        def __await__(self) -> Generator[Any, None, None]:
            yield 42

    async def send(message: Message) -> None:
        await Odd()

    subscriber, task = await parked(send)
    assert not subscriber.push(MESSAGE)
    assert await task is None


async def test_a_cancelled_blocker_reaches_the_send_not_the_stream() -> None:
    loop = asyncio.get_running_loop()
    blocker: asyncio.Future[None] = loop.create_future()
    seen: list[str] = []

    async def send(message: Message) -> None:
        try:
            await blocker
        except asyncio.CancelledError:
            seen.append("send saw the cancellation")

    subscriber, task = await parked(send)
    assert subscriber.push(MESSAGE)
    pending = await task
    assert isinstance(pending, PendingSend)
    finishing = asyncio.create_task(pending.finish())
    await asyncio.sleep(0)
    blocker.cancel()
    await asyncio.wait_for(finishing, 1)  # ends normally: the stream was not cancelled
    assert seen == ["send saw the cancellation"]


async def test_cancelling_the_stream_closes_its_unfinished_send() -> None:
    loop = asyncio.get_running_loop()
    closed: list[bool] = []

    async def send(message: Message) -> None:
        try:
            await loop.create_future()  # a client that never reads
        finally:
            closed.append(True)

    subscriber, task = await parked(send)
    assert subscriber.push(MESSAGE)
    pending = await task
    assert isinstance(pending, PendingSend)
    finishing = asyncio.create_task(pending.finish())
    await asyncio.sleep(0.01)
    finishing.cancel()
    await asyncio.gather(finishing, return_exceptions=True)
    assert finishing.cancelled() and closed == [True]


async def test_the_public_api_alternative_hands_the_message_to_the_task(
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr("web.fanout.WAKE_TASKS", True)
    bodies: list[Message] = []

    async def send(message: Message) -> None:
        bodies.append(message)

    subscriber, task = await parked(send)
    assert subscriber.push(MESSAGE) and bodies == []
    delivery = await task
    assert isinstance(delivery, Delivery)
    await delivery.finish()
    assert bodies == [MESSAGE]


# -- the asyncio internals the hand-driven step relies on: fail loudly if they change -----


async def test_awaiting_a_future_yields_that_future_with_its_blocking_flag_set() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def waiter() -> int:
        return await future

    coro = waiter()
    yielded = coro.send(None)
    assert yielded is future
    assert future._asyncio_future_blocking is True
    future.set_result(7)
    try:
        coro.send(None)
    except StopIteration as stop:
        assert stop.value == 7
    else:
        raise AssertionError("the coroutine did not finish")


async def test_a_future_acknowledged_by_hand_can_be_awaited_by_a_task() -> None:
    from web.fanout import _taken

    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def waiter() -> int:
        return await future

    coro = waiter()
    taken = _taken(coro.send(None))
    assert taken is future and future._asyncio_future_blocking is False

    async def again() -> int:
        result: int = await taken
        return result

    task = asyncio.create_task(again())
    await asyncio.sleep(0)
    future.set_result(3)
    assert await task == 3
    coro.close()


async def test_sleep_zero_yields_a_bare_none() -> None:
    coro = asyncio.sleep(0)
    assert coro.send(None) is None
    coro.close()


async def test_a_task_knows_whether_it_is_being_cancelled() -> None:
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
