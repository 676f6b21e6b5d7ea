"""Spotify calls per hour, playing and idle, measured against the simulator on a simulated
clock (the poller's own schedule decides when it polls; no real hour passes).

    python -m bench.spotify_calls
"""

from __future__ import annotations

import asyncio

import fakeredis
import httpx

from poller.service import Poller
from shared.config import Settings
from shared.simulator.app import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    build_app,
    new_state,
)
from shared.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_900_000.0

    def __call__(self) -> float:
        return self.now


async def hour(mode: str) -> dict[str, int]:
    clock = Clock()
    sim = new_state("http://sim", clock=lambda: int(clock.now * 1000))
    if mode == "idle":
        sim.player.set_state(sim.clock(), mode="stopped")
    transport = httpx.ASGITransport(app=build_app(sim))
    async with httpx.AsyncClient(transport=transport) as http:
        settings = Settings(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            refresh_token=DEFAULT_REFRESH_TOKEN,
            accounts_url="http://sim",
            api_url="http://sim/v1",
        )
        poller = Poller(settings, Store(fakeredis.FakeAsyncRedis(), "b"), http, clock=clock)
        # Warm-up: the first 10 idle minutes poll fast by design; measure the hour after.
        end = clock.now + (600 if mode == "idle" else 0)
        while clock.now < end:
            clock.now += await poller.poll_once()
        sim.calls.clear()
        end = clock.now + 3600
        while clock.now < end:
            clock.now += await poller.poll_once()
    return {k: v for k, v in sim.calls.items() if " " not in k}


async def main() -> None:
    for mode in ("playing", "idle"):
        calls = await hour(mode)
        print(f"{mode:8s} total={sum(calls.values()):5d} per endpoint={calls}")


if __name__ == "__main__":
    asyncio.run(main())
