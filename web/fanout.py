"""The SSE fan-out: how one new frame reaches every open stream of a web process.

Each stream is a `Subscriber`: a latest-wins slot (the version it last got), never a
queue, so a slow client can only miss intermediate versions, never grow memory. A stream
with nothing to send parks its task on `Subscriber.wait()`. On a change the hub calls
`push` on every subscriber, which runs the first step of that stream's `send` right on
the hub's stack, instead of waking one task per stream: at 10,000 streams the task
switch, a new future per wait and the garbage they leave cost as much as the socket
writes themselves (docs/BENCHMARKS.md, "fan-out"). A write that completes in that step
(the usual case: the socket buffer had room) costs no task switch at all; only a write
that has to wait for a slow client is handed, as a `PendingSend`, to that stream's own
task, which finishes it (`run_stream`). `reap_stuck` cancels streams stuck in a write.

Driving a coroutine by hand is what asyncio.Task does inside; it is correct here only
while these hold (tests/test_fanout.py checks each; what breaks if one fails is said):

1. `send` is the ASGI server's own send, unwrapped: no middleware between uvicorn and the
   stream (/api/stream is the one `raw` row of web/routes.py: web/hot.py's RawRoutes
   serves it ahead of the middleware). A
   wrapping `send` may bind state to the task it runs in (contextvars, anyio cancel
   scopes, a task-group of BaseHTTPMiddleware); its first step would then run in the
   hub's context, not the stream's: streams break or hang, with no error.
2. `push` runs only on a parked stream: its task is suspended in `wait()` and does
   nothing else, so the hub's step and the stream's task never run one `send` at once
   (a busy stream is skipped and catches up itself from the hub's latest version).
3. The first step either finishes (StopIteration), or yields what a coroutine awaiting
   asyncio yields: a Future with `_asyncio_future_blocking` set (a private flag that
   asyncio.Task resets before awaiting it; `_taken` does the same), or a bare None
   (`await asyncio.sleep(0)`). Anything else is a "bad yield" that ends the stream, as
   a Task would refuse it. If asyncio changes this protocol, the tests fail loudly.
4. The rest of the write runs in the stream's task as a Task would run it: the stream
   awaits the blocker, then resumes the coroutine, which reads the blocker's result or
   exception (a cancelled blocker included) itself. Cancelling the stream's own task
   closes the coroutine (the reaper does this to a stuck write).
5. A step that raises ends that stream only, never the hub's loop or other streams.
6. One message object per version serves every stream: ASGI servers only read it.
7. The hub never awaits while fanning out: N streams cost one pass, no scheduling.

NOWPLAYING_FANOUT=tasks (benchmarks only) wakes each stream's task with the message
instead (the public-API alternative), so bench/sse_fanout.py can compare the two.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Coroutine, Iterable
from typing import Any, Protocol

from starlette.types import Message, Send

from web.sse_wire import PING_FRAME

SEND_TIMEOUT_S = 10.0
WAKE_TASKS = os.environ.get("NOWPLAYING_FANOUT") == "tasks"


def body_message(body: bytes) -> Message:
    return {"type": "http.response.body", "body": body, "more_body": True}


PING_MESSAGE = body_message(PING_FRAME)


def _taken(yielded: Any) -> Any:
    """Acknowledge what a coroutine step yielded, the way asyncio.Task does: a Future
    has its blocking flag reset so that it can be awaited again; None means "yield to
    the loop once". Anything else is what Task calls a bad yield (precondition 3)."""
    if yielded is None:
        return None
    if getattr(yielded, "_asyncio_future_blocking", None) is True:
        yielded._asyncio_future_blocking = False
        return yielded
    raise TypeError(f"bad yield from an ASGI send: {yielded!r}")


class PendingSend:
    """A send that started on the hub's stack and must wait for the socket to drain."""

    __slots__ = ("blocker", "coro")

    def __init__(self, coro: Coroutine[Any, Any, None], blocker: Any) -> None:
        self.coro = coro
        self.blocker = blocker  # what the first step yielded, already `_taken`

    async def finish(self) -> None:
        """Drive the rest of the coroutine as a task would (precondition 4)."""
        task = asyncio.current_task()
        try:
            while True:
                if self.blocker is None:
                    await asyncio.sleep(0)
                else:
                    try:
                        await self.blocker
                    except asyncio.CancelledError:
                        if task is not None and task.cancelling():
                            raise  # this stream was cancelled: close the write
                        # Only the blocker was: the coroutine reads that when resumed.
                    except Exception:
                        pass  # the coroutine reads the exception when resumed
                self.blocker = _taken(self.coro.send(None))
        except StopIteration:
            pass
        finally:
            self.coro.close()


class Delivery:
    """NOWPLAYING_FANOUT=tasks: the message itself, sent by the woken stream's task."""

    __slots__ = ("message", "send")

    def __init__(self, send: Send, message: Message) -> None:
        self.send = send
        self.message = message

    async def finish(self) -> None:
        await self.send(self.message)


# What a parked stream is woken with: a write to finish, or None to end the stream.
Wakeup = PendingSend | Delivery | None


class Subscriber:
    __slots__ = ("gone", "reaped", "send", "sending_since", "sent_version", "task", "waiter")

    def __init__(self) -> None:
        self.send: Send | None = None
        self.waiter: asyncio.Future[Wakeup] | None = None
        self.sent_version = -1
        self.task: asyncio.Task[Any] | None = None
        self.sending_since = 0.0  # monotonic start of a send the task is finishing, else 0
        self.reaped = False
        self.gone = False  # sticky: a close that lands while the task is busy still counts

    def close(self) -> None:
        self.gone = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def push(self, message: Message) -> bool:
        """Send `message` now if the stream is parked; False if its task is busy (it will
        see the newer version itself when it loops)."""
        waiter, send = self.waiter, self.send
        if waiter is None or waiter.done() or send is None:
            return False
        if WAKE_TASKS:
            waiter.set_result(Delivery(send, message))
            return True
        coro = send(message)
        try:
            blocker = _taken(coro.send(None))  # type: ignore[attr-defined]
        except StopIteration:
            return True
        except Exception:
            coro.close()  # type: ignore[attr-defined]
            waiter.set_result(None)
            return False
        waiter.set_result(PendingSend(coro, blocker))  # type: ignore[arg-type]
        return True

    async def wait(self) -> Wakeup:
        if self.gone:
            return None
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            return await self.waiter
        finally:
            self.waiter = None


class Latest(Protocol):
    """What a stream reads from its hub when it catches up by itself."""

    closed: bool
    events_sent: int

    @property
    def version(self) -> int: ...

    @property
    def frame(self) -> bytes: ...


async def run_stream(latest: Latest, subscriber: Subscriber, send: Send) -> None:
    """A stream's task after its first frame: park, finish what the hub started, and
    catch up on news that came while it was busy. Returns when the stream ends."""
    subscriber.send = send
    subscriber.task = asyncio.current_task()
    while not latest.closed:
        if latest.version > subscriber.sent_version:
            # News that arrived while this task was busy: the hub could not push it.
            subscriber.sent_version = latest.version
            latest.events_sent += 1
            subscriber.sending_since = time.monotonic()
            await send(body_message(latest.frame))
            subscriber.sending_since = 0.0
            continue
        wakeup = await subscriber.wait()
        if wakeup is None:
            return
        # The hub's write has to wait for this client to read; reap_stuck cancels the
        # task if it never does.
        subscriber.sending_since = time.monotonic()
        await wakeup.finish()
        subscriber.sending_since = 0.0


def reap_stuck(subscribers: Iterable[Subscriber], now: float, timeout_s: float) -> int:
    """Cancel the streams whose client stopped reading: one sweep instead of a timer
    armed around every send of every stream."""
    reaped = 0
    for subscriber in subscribers:
        since = subscriber.sending_since
        if since and now - since > timeout_s and subscriber.task and not subscriber.reaped:
            subscriber.reaped = True
            subscriber.task.cancel()
            reaped += 1
    return reaped
