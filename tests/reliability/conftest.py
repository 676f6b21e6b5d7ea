"""The stack as users run it, for the fault suite: `python -m web` and `python -m poller`
as their own processes, a real redis-server, and the simulated Spotify on a real socket
(in the test's loop, so a test can steer it and read its call counts).

Every stack checks on the way out that no secret it knows of reached a log line or an
HTTP answer the test received.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from bench.procs import Proc, python, raise_fd_limit
from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    SimState,
    build_app,
    new_state,
)
from tests.conftest import RedisServer, free_port, serve

POLL_INTERVAL = 1.0
STALE_AFTER_S = 15.0  # max(3 intervals, 15 s)
ADMIN_TOKEN = "admin-token-for-the-fault-suite"


@dataclass
class Stack:
    sim: SimState
    sim_url: str
    web_url: str
    web_port: int
    env: dict[str, str]
    procs: dict[str, Proc]
    http: httpx.AsyncClient
    answers: list[bytes] = field(default_factory=list)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(f"{self.web_url}{path}", **kw)

    async def document(self) -> dict[str, Any]:
        r = await self.get("/api/now-playing")
        assert r.status_code == 200
        body: dict[str, Any] = r.json()
        return body

    def alive(self) -> bool:
        return all(p.process.poll() is None for p in self.procs.values())

    def secrets(self) -> set[str]:
        """Every secret this stack has seen: configured ones and all tokens Spotify issued."""
        known = {DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, ADMIN_TOKEN}
        known |= set(self.sim.access_tokens) | set(self.sim.refresh_tokens)
        return {s for s in known if len(s) >= 8}

    def logs(self) -> str:
        return "\n".join(p.log() for p in self.procs.values())


async def until(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: str, step_s: float = 0.1
) -> float:
    """Seconds until `check()` is true; fails the test after `timeout_s`."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if await check():
                return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"not within {timeout_s} s: {what}")
        await asyncio.sleep(step_s)


@contextlib.asynccontextmanager
async def running_stack(
    redis: RedisServer,
    sim_front: Callable[[ASGIApp], ASGIApp] | None = None,
    *,
    first_song: bool = True,
    **env: str,
) -> AsyncIterator[Stack]:
    """`sim_front`: an app in front of the simulator on its socket (extra routes a test
    needs on the provider's origin). `first_song`: wait for the poller's first song, as
    most tests start from a last good document."""
    raise_fd_limit()
    sim = new_state("http://127.0.0.1")
    sim_app: ASGIApp = build_app(sim)
    async with serve(sim_front(sim_app) if sim_front else sim_app) as sim_url:
        web_port = free_port()
        full_env = {
            "REDIS_URL": redis.url,
            "REDIS_PREFIX": f"rel{free_port()}",
            "SPOTIFY_CLIENT_ID": DEFAULT_CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
            "SPOTIFY_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
            "SPOTIFY_ACCOUNTS_URL": sim_url,
            "SPOTIFY_API_URL": f"{sim_url}/v1",
            "POLL_INTERVAL": str(POLL_INTERVAL),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            # The fault suite polls with nobody watching, on the schedule that ignores demand.
            "POLL_MODE": "always",
            **env,
        }
        procs = {
            "poller": python("poller", ["-m", "poller"], full_env),
            "web": python("web", ["-m", "web", "--port", str(web_port)], full_env),
        }
        answers: list[bytes] = []

        async def keep(response: httpx.Response) -> None:
            await response.aread()
            answers.append(str(response.headers).encode() + response.content)

        try:
            async with httpx.AsyncClient(timeout=5, event_hooks={"response": [keep]}) as http:
                stack = Stack(
                    sim, sim_url, f"http://127.0.0.1:{web_port}", web_port, full_env, procs, http
                )
                stack.answers = answers

                async def ready() -> bool:
                    assert stack.alive(), stack.logs()
                    return (await stack.get("/readyz")).status_code == 200

                await until(ready, 30, "the stack is ready")

                async def has_song() -> bool:  # /readyz is 200 from the first heartbeat on
                    return (await stack.get("/api/now-playing")).json()["song"] is not None

                if first_song:
                    await until(has_song, 30, "the poller published a first song")
                yield stack
                logs = stack.logs()
                leaked = [s for s in stack.secrets() if s in logs]
                assert not leaked, f"secrets in the logs: {len(leaked)}"
                leaked = [s for s in stack.secrets() if any(s.encode() in a for a in answers)]
                assert not leaked, f"secrets in HTTP answers: {len(leaked)}"
        finally:
            for proc in procs.values():
                proc.stop()
