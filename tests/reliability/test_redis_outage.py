"""Redis dies and comes back, empty, while 100 SSE clients stream."""

from __future__ import annotations

import asyncio
import time

from bench.procs import CROWD_LIMITS
from bench.sse_client import open_crowd
from tests.conftest import RedisServer
from tests.reliability.conftest import STALE_AFTER_S, running_stack, until


async def test_redis_killed_and_restarted_under_100_streams(redis_server: RedisServer) -> None:
    async with running_stack(redis_server, **CROWD_LIMITS) as stack:
        crowd = await open_crowd("127.0.0.1", stack.web_port, "/api/stream", 100)
        try:
            assert crowd.failed == 0
            before = (await stack.document())["version"]

            redis_server.process.kill()
            redis_server.process.wait(5)

            async def not_ready() -> bool:
                return (await stack.get("/readyz")).status_code == 503

            await until(not_ready, 10, "/readyz turns 503 without Redis")
            assert (await stack.get("/healthz")).status_code == 200
            served = await stack.document()
            assert served["song"] is not None  # the last good document, still served

            async def marked_stale() -> bool:
                return bool((await stack.document())["stale"])

            await until(marked_stale, STALE_AFTER_S + 10, "the document is marked stale")
            assert stack.alive(), stack.logs()

            redis_server.start()

            async def ready() -> bool:
                return (await stack.get("/readyz")).status_code == 200

            await until(ready, 30, "/readyz is 200 again once Redis is back")
            assert stack.alive(), stack.logs()

            async def fresh() -> bool:
                return not (await stack.document())["stale"]

            await until(fresh, 10, "the poller publishes fresh data into the new Redis")
            settled = (await stack.document())["version"]
            assert settled > before  # versions never went backwards over the empty Redis
            stack.sim.player.skip(stack.sim.clock())
            skipped = time.monotonic()

            async def everyone_has_news() -> bool:
                return all(max(c.seen) > settled for c in crowd.connections)

            await until(everyone_has_news, 10, "every client gets the next change")
            assert time.monotonic() - skipped <= 10
            assert all(not c.closed.done() for c in crowd.connections)  # no stream dropped
        finally:
            crowd.close()
            await asyncio.sleep(0.1)
