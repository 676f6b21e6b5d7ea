"""Answers the app builds itself: redirects are never built from the Host header."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest

from shared.config import Settings
from shared.store import Store
from tests.webutil import web_client
from web.app import WebRuntime


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    runtime = WebRuntime(Settings(redis_prefix="rt"), Store(fakeredis.FakeAsyncRedis(), "rt"))
    async with web_client(runtime) as c:
        yield c
    await runtime.http.aclose()


@pytest.mark.parametrize("path", ["/embed.svg/", "/healthz/", "/api/now-playing/", "/login/"])
async def test_a_trailing_slash_never_redirects_to_the_host_header(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(path, headers={"Host": "evil.example"})
    assert "evil.example" not in r.headers.get("location", "")
    assert r.status_code == 404
