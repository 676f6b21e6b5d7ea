"""`python -m poller` not (yet) connected, with a real redis-server and the real web app:
it stays up, and /readyz says "not connected" with the one thing to do (no crash loop)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from shared import setup_errors as se
from shared.config import Settings
from shared.store import Store, connect
from tests.conftest import RedisServer, serve
from web.app import WebRuntime, build_app

pytestmark = pytest.mark.redis


@pytest.mark.parametrize(
    ("spotify", "cause"),
    [
        ({}, se.NOT_CONFIGURED),
        ({"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret"}, se.NO_REFRESH_TOKEN),
    ],
)
async def test_an_unconnected_poller_stays_up_and_readyz_says_what_to_do(
    redis_server: RedisServer, spotify: dict[str, str], cause: str
) -> None:
    prefix = f"nc{cause[:6]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    env |= spotify | {"REDIS_URL": redis_server.url, "REDIS_PREFIX": prefix, "POLL_INTERVAL": "1"}
    # Spotify must not be asked at all: point it at a closed port.
    env |= {"SPOTIFY_ACCOUNTS_URL": "http://127.0.0.1:9", "SPOTIFY_API_URL": "http://127.0.0.1:9"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "poller", env=env, stderr=subprocess.PIPE
    )
    store = Store(connect(redis_server.url), prefix)
    runtime = WebRuntime(Settings(redis_url=redis_server.url, redis_prefix=prefix), store)
    try:
        async with serve(build_app(runtime)) as base, httpx.AsyncClient(base_url=base) as client:
            body: dict[str, Any] = {}
            deadline = time.monotonic() + 15
            while body.get("setup") != cause and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                answer = await client.get("/readyz")
                body = answer.json()
            assert answer.status_code == 200 and body["auth"] == "not connected"
            assert body["setup"] == cause and body["action"] == se.ADVICE[cause].action
            assert process.returncode is None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 10)
        await runtime.http.aclose()
        await store.close()
    assert process.returncode == 0
