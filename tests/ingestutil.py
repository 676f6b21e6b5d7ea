"""Helpers for the push ingest tests: the fixture payloads, an app with ingest enabled, and
a watch on everything a refused submission must leave alone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from shared.config import Settings
from shared.store import Store
from web.app import build_app
from web.runtime import WebRuntime

FIXTURES = Path(__file__).parent / "fixtures" / "ingest"
TOKEN = "ingest-token-0123456789abcdef"
USER = "np-owner"


def fixture(name: str) -> dict[str, Any]:
    """The body of tests/fixtures/ingest/<name>.json (its `_source` says where it is from)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    assert data["_source"], name
    body: dict[str, Any] = data["body"]
    return body


def raw(name: str) -> bytes:
    return json.dumps(fixture(name)).encode()


def ingest_settings(store: Store, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_prefix": store.keys.prefix,
        "ingest_token": TOKEN,
        "ingest_user": USER,
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def client(store: Store, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    runtime = WebRuntime(ingest_settings(store, **overrides), store)
    transport = httpx.ASGITransport(app=build_app(runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://np.test") as c:
            yield c
    finally:
        await runtime.http.aclose()


class Untouched:
    """What a refused submission must not change: P:current's version, P:push:current,
    and the wake channel (nothing published)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pubsub = store.redis.pubsub()

    async def __aenter__(self) -> Untouched:
        await self.pubsub.subscribe(self.store.keys.wake)
        await self.pubsub.get_message(timeout=1)  # the subscribe confirmation
        self.version = await self._version()
        self.pushed = await self.store.redis.get(self.store.keys.push)
        return self

    async def _version(self) -> int | None:
        document = await self.store.current()
        return document["version"] if document else None

    async def published(self) -> list[Any]:
        found = []
        for _ in range(3):
            message = await self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                found.append(message["data"])
            await asyncio.sleep(0)
        return found

    async def check(self) -> None:
        assert await self.published() == []
        assert await self._version() == self.version
        assert await self.store.redis.get(self.store.keys.push) == self.pushed

    async def __aexit__(self, *exc: object) -> None:
        await self.pubsub.aclose()
