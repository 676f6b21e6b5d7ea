"""Spotify calls per hour, measured against the simulator on a simulated clock (the
poller's own schedule decides when it polls; no real hour passes): nowplaying while
something plays and once idle, and the per-request pattern of the usual tutorials.

    python -m bench.spotify_calls
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import fakeredis
import httpx

from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    SimState,
    build_app,
    new_state,
)
from poller.service import Poller
from shared.config import Settings
from shared.store import Store

HOURS = 3


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_900_000.0

    def __call__(self) -> float:
        return self.now


def _simulator(clock: Clock, mode: str) -> tuple[SimState, httpx.AsyncClient]:
    sim = new_state("http://sim", clock=lambda: int(clock.now * 1000))
    if mode == "idle":
        sim.player.set_state(sim.clock(), mode="stopped")
    return sim, httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(sim)))


def _calls(sim: SimState) -> dict[str, int]:
    return {k: v for k, v in sim.calls.items() if " " not in k}


async def nowplaying(mode: str) -> dict[str, Any]:
    """The poller alone, for HOURS simulated hours after a warm-up."""
    clock = Clock()
    sim, http = _simulator(clock, mode)
    async with http:
        settings = Settings(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            refresh_token=DEFAULT_REFRESH_TOKEN,
            accounts_url="http://sim",
            api_url="http://sim/v1",
            # Polling with nobody watching and no budget: today's policy, the baseline
            # bench.quota_week compares with.
            poll_mode="always",
            daily_budget=10**9,
        )
        poller = Poller(settings, Store(fakeredis.FakeAsyncRedis(), "b"), http, clock=clock)
        # Warm-up: the first 10 idle minutes poll fast by design; measure the hours after.
        end = clock.now + (600 if mode == "idle" else 0)
        while clock.now < end:
            clock.now += await poller.poll_once()
        sim.calls.clear()
        end = clock.now + 3600 * HOURS
        while clock.now < end:
            clock.now += await poller.poll_once()
    calls = _calls(sim)
    return {
        "pattern": f"nowplaying, {mode}",
        "viewers": "any",
        "per_hour": sum(calls.values()) / HOURS,
        "token_per_hour": calls.get("token", 0) / HOURS,
        "calls": calls,
    }


async def tutorial(viewers: int, every_s: float = 5.0) -> dict[str, Any]:
    """Each viewer's page polls the site every 5 s; each request refreshes the token and
    asks currently-playing, the way most "now playing" tutorials wire it."""
    clock = Clock()
    sim, http = _simulator(clock, "playing")
    basic = base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
    async with http:
        end = clock.now + 3600
        while clock.now < end:
            for _ in range(viewers):
                token = await http.post(
                    "http://sim/api/token",
                    data={"grant_type": "refresh_token", "refresh_token": DEFAULT_REFRESH_TOKEN},
                    headers={"Authorization": f"Basic {basic}"},
                )
                access = token.json()["access_token"]
                await http.get(
                    "http://sim/v1/me/player/currently-playing",
                    headers={"Authorization": f"Bearer {access}"},
                )
            clock.now += every_s
    calls = _calls(sim)
    return {
        "pattern": "tutorial: every request asks Spotify",
        "viewers": viewers,
        "per_hour": sum(calls.values()),
        "token_per_hour": calls.get("token", 0),
        "calls": calls,
    }


async def measure() -> list[dict[str, Any]]:
    return [await nowplaying("playing"), await nowplaying("idle"), await tutorial(10)]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| pattern | viewers | Spotify calls per hour | token refreshes per hour | by endpoint |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items()))
        lines.append(
            f"| {r['pattern']} | {r['viewers']} | {r['per_hour']:,.0f} "
            f"| {r['token_per_hour']:.2f} | {endpoints} |"
        )
    return "\n".join(lines)


def main() -> None:
    print(table(asyncio.run(measure())))


if __name__ == "__main__":
    main()
