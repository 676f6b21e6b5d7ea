"""Helpers for the web tests: documents, a runtime on a store, and an SSE reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.routing import BaseRoute

from poller.providers.spotify.normalize import normalize_current
from shared.config import Settings
from shared.document import Document, Song, encode
from shared.store import Store
from tests.payloads import currently_playing, track
from web.app import build_app
from web.runtime import WebRuntime


def song(name: str = "Never Gonna Give You Up", *, playing: bool = True, id: str = "a") -> Song:
    value = normalize_current(
        currently_playing(track(name=name, id=id), is_playing=playing), 1_763_900_000_000
    )
    assert value is not None
    return value


def document(version: int, name: str = "Track", **kw: Any) -> Document:
    return {
        "version": version,
        "updatedAt": 1_763_900_000_000 + version,
        "stale": False,
        "demo": False,
        "pausedUntil": None,
        "song": song(name, id=f"id{version}"),
    } | kw  # type: ignore[return-value]


def raw(doc: Document) -> bytes:
    return encode(doc)


async def publish(store: Store, name: str, settings: Settings | None = None) -> Document:
    return await store.publish(
        song(name, id=name.replace(" ", "")), stale=False, demo=False, now_ms=1_763_900_000_000
    )


class SSEReader:
    """Reads an SSE response frame by frame (events and comments)."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def frame(self, timeout: float = 10.0) -> dict[str, str]:
        async def read() -> dict[str, str]:
            fields: dict[str, str] = {}
            async for line in self.lines:
                if line == "":
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    fields["comment"] = line[1:].strip()
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            raise EOFError("stream ended")

        return await asyncio.wait_for(read(), timeout)

    async def event(self, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            frame = await self.frame(timeout)
            if "data" in frame:
                return {
                    "id": frame.get("id"),
                    "event": frame.get("event"),
                    "data": json.loads(frame["data"]),
                }


async def next_event(reader: SSEReader, predicate: Any, timeout: float) -> dict[str, Any]:
    """The next event whose `data` satisfies `predicate`, within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no matching event in time")
        event = await reader.event(timeout=left)
        if predicate(event["data"]):
            return event


async def stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[httpx.Response, SSEReader]]:
    async with client.stream("GET", url, headers=headers) as response:
        yield response, SSEReader(response)


@contextlib.asynccontextmanager
async def web_client(
    runtime: WebRuntime,
    *,
    extra: list[BaseRoute] | None = None,
    base_url: str = "http://np.test",
    client: tuple[str, int] | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the whole web app of `runtime`, in process (no socket, no
    lifespan: the test starts what it needs)."""
    app = build_app(runtime, extra)
    transport = (
        httpx.ASGITransport(app=app)
        if client is None
        else httpx.ASGITransport(app=app, client=client)
    )
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http
