"""Shared fixtures: a manual clock, stores (fakeredis and a real redis-server), the
simulator in-process and over real sockets, and uvicorn on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import fakeredis
import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    SimState,
    build_app,
    new_state,
)
from shared.config import Settings
from shared.store import Store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(binary: str) -> str:
    """The path of a system program; in CI a missing one fails the test, never skips it."""
    path = shutil.which(binary)
    if path is None:
        if IN_CI:
            pytest.fail(f"{binary} is required in CI but is not installed")
        pytest.skip(f"{binary} not installed")
    return path


@dataclass
class ManualClock:
    """Seconds since the epoch, moved by the test."""

    now: float = 1_763_900_000.0

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sim_settings(base: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "accounts_url": base,
        "api_url": f"{base}/v1",
        "poll_interval": 5.0,
        "redis_prefix": f"t{uuid.uuid4().hex[:8]}",
        # These tests poll on the schedule that ignores demand, as if a stream were open.
        "poll_mode": "always",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake_store() -> AsyncIterator[Store]:
    store = Store(fakeredis.FakeAsyncRedis(), f"t{uuid.uuid4().hex[:8]}")
    yield store
    await store.close()


@pytest.fixture
def sim(clock: ManualClock) -> SimState:
    """A simulator whose time is the test's manual clock."""
    return new_state("http://sim.test", clock=clock.ms)


@pytest.fixture
async def sim_http(sim: SimState) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client wired to the in-process simulator (no sockets)."""
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        yield client


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, **config: object) -> AsyncIterator[str]:
    """Real uvicorn on a real loopback socket inside the test's event loop."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    cfg = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", **config)  # type: ignore[arg-type]
    server = uvicorn.Server(cfg)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        sock.close()


@dataclass
class RedisServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    directory: str

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(5)

    def start(self) -> None:
        self.process = _spawn_redis(self.port, self.directory)


def _spawn_redis(port: int, directory: str) -> subprocess.Popen[bytes]:
    binary = need("redis-server")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return process
        time.sleep(0.05)
    process.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server of the test's own, on a free port (restartable)."""
    port = free_port()
    directory = tempfile.mkdtemp(prefix="np-redis-")
    server = RedisServer(
        f"redis://127.0.0.1:{port}/0", port, _spawn_redis(port, directory), directory
    )
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait(5)
    shutil.rmtree(directory, ignore_errors=True)
