"""The usual recipe, for comparison: sse-starlette's EventSourceResponse and one
`asyncio.Queue` per client, fed by one Redis subscription. Same uvicorn settings as
`nowplaying web`, same document, same channel.

    REDIS_URL=redis://... REDIS_PREFIX=... python -m bench.baseline_sse --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator

import redis.asyncio as redis
import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.server import uvicorn_config


def build_app(url: str, prefix: str) -> Starlette:
    client = redis.from_url(url)
    queues: set[asyncio.Queue[bytes]] = set()
    latest: list[bytes] = [b"{}"]

    def event(raw: bytes) -> ServerSentEvent:
        version = json.loads(raw).get("version", 0)
        return ServerSentEvent(data=raw.decode(), event="now-playing", id=str(version), sep="\n")

    async def follow() -> None:
        pubsub = client.pubsub()
        await pubsub.subscribe(f"{prefix}:updates")
        stored = await client.get(f"{prefix}:current")
        if isinstance(stored, bytes):
            latest[0] = stored
        async for message in pubsub.listen():
            if message["type"] == "message":
                latest[0] = message["data"]
                for queue in queues:
                    queue.put_nowait(message["data"])

    async def stream(request: Request) -> Response:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        queues.add(queue)

        async def events() -> AsyncIterator[ServerSentEvent]:
            try:
                yield event(latest[0])
                while True:
                    yield event(await queue.get())
            finally:
                queues.discard(queue)

        return EventSourceResponse(events(), ping=15, sep="\n")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "subscribers": len(queues)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(follow())
        yield
        task.cancel()

    return Starlette(
        routes=[Route("/api/stream", stream), Route("/healthz", healthz)], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build_app(os.environ["REDIS_URL"], os.environ.get("REDIS_PREFIX", "nowplaying"))
    uvicorn.Server(uvicorn_config(app, "127.0.0.1", args.port)).run()


if __name__ == "__main__":
    main()
