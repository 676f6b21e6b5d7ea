"""SIGTERM, as docker stop sends it: each process ends promptly and cleanly, with streams
open and the poller's leadership handed back."""

from __future__ import annotations

import asyncio
import signal
import time

from bench.procs import CROWD_LIMITS
from bench.sse_client import open_crowd
from shared.store import Store, connect
from tests.conftest import RedisServer
from tests.reliability.conftest import running_stack

CLEAN = (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down


async def test_sigterm_ends_web_and_poller_within_3_seconds(redis_server: RedisServer) -> None:
    async with running_stack(redis_server, **CROWD_LIMITS) as stack:
        crowd = await open_crowd("127.0.0.1", stack.web_port, "/api/stream", 200)
        assert crowd.failed == 0
        web = stack.procs["web"]
        started = time.monotonic()
        web.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(web.process.wait, 10) in CLEAN
        assert time.monotonic() - started < 3
        assert "Application shutdown complete" in web.log()
        await asyncio.sleep(0.2)
        assert all(c.closed.done() for c in crowd.connections)  # every stream was ended
        crowd.close()

        store = Store(connect(stack.env["REDIS_URL"]), stack.env["REDIS_PREFIX"])
        assert await store.redis.exists(store.keys.leader)
        poller = stack.procs["poller"]
        started = time.monotonic()
        poller.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(poller.process.wait, 10) in CLEAN
        assert time.monotonic() - started < 3
        assert not await store.redis.exists(store.keys.leader)  # a standby takes over now
        await store.close()
