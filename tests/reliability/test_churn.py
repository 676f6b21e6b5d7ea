"""2,000 clients come and go at random for 60 s while changes are published: nothing
leaks (the subscribers gauge returns to 0, memory returns to where it was)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import socket
import time

from bench.procs import CROWD_LIMITS, rss_kb
from bench.sse_client import connect, request_bytes
from tests.conftest import RedisServer
from tests.reliability.conftest import Stack, running_stack, until

CLIENTS = 2000
SECONDS = 60.0


async def visit(stack: Stack, rng: random.Random) -> None:
    """One client's visit: stream for a while, then leave in one of the ways clients do."""
    request = request_bytes("127.0.0.1", stack.web_port, "/api/stream")
    style = rng.choice(("fin", "reset", "mid-request", "never-read"))
    if style == "mid-request":
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", stack.web_port)
            writer.write(request[: rng.randrange(1, len(request) - 1)])
            await asyncio.sleep(rng.uniform(0, 0.3))
            writer.transport.abort()
        return
    with contextlib.suppress(OSError):
        connection = await connect("127.0.0.1", stack.web_port, request)
        if style == "never-read":
            connection.stop_reading()
        await asyncio.sleep(rng.uniform(0.05, 3.0))
        connection.close(reset=style == "reset")


async def client(stack: Stack, deadline: float, seed: int) -> int:
    rng = random.Random(seed)
    visits = 0
    while time.monotonic() < deadline:
        await visit(stack, rng)
        visits += 1
        await asyncio.sleep(rng.uniform(0, 0.5))
    return visits


async def gauge(stack: Stack, name: str) -> float:
    text = (await stack.get("/metrics")).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match is not None, name
    return float(match.group(1))


async def test_random_churn_of_2000_clients_leaks_nothing(redis_server: RedisServer) -> None:
    async with running_stack(redis_server, **CROWD_LIMITS) as stack:
        web = stack.procs["web"].pid
        # Warm-up with the same crowd: the allocator grows to the peak once, and keeps it;
        # what grows after that is a leak.
        warm_until = time.monotonic() + 10
        await asyncio.gather(*(client(stack, warm_until, -i) for i in range(CLIENTS)))
        await until(lambda: _zero(stack), 30, "no subscriber left after the warm-up")
        await asyncio.sleep(2)
        before, tasks_before = rss_kb(web), await gauge(stack, "nowplaying_asyncio_tasks")

        async def publish_often() -> None:
            while True:
                stack.sim.player.skip(stack.sim.clock())
                await asyncio.sleep(0.5)

        publisher = asyncio.create_task(publish_often())
        deadline = time.monotonic() + SECONDS
        visits = await asyncio.gather(*(client(stack, deadline, i) for i in range(CLIENTS)))
        publisher.cancel()
        assert sum(visits) > CLIENTS * 5

        await until(lambda: _zero(stack), 30, "the subscribers gauge returns to 0")
        await asyncio.sleep(2)
        after = rss_kb(web)
        assert after <= 1.1 * before + 5 * 1024, f"RSS {before} kB -> {after} kB"
        assert await gauge(stack, "nowplaying_asyncio_tasks") == tasks_before
        assert stack.alive(), stack.logs()
        with socket.create_connection(("127.0.0.1", stack.web_port), 2):
            pass  # still accepting


async def _zero(stack: Stack) -> bool:
    return await gauge(stack, "nowplaying_sse_subscribers") == 0
