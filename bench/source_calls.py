"""Calls per hour to each source, on a simulated clock against the simulators (the poller's
own schedule decides when it reads; no real hour passes): Last.fm alone, ListenBrainz alone,
and Spotify with Last.fm behind it, while something plays and once idle.

    python -m bench.source_calls
"""

from __future__ import annotations

import asyncio
from typing import Any

import fakeredis
import httpx

from nowplaying.simulator.combined import build_simulators
from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    new_state,
)
from poller.service import Poller
from shared.config import Settings
from shared.store import Store

HOURS = 3
BASE = "http://sim"
SETUPS: dict[str, dict[str, Any]] = {
    "lastfm": {
        "lastfm_api_key": "sim-lastfm-key",
        "lastfm_user": "sim-user",
        "lastfm_api_url": f"{BASE}/lastfm/2.0/",
    },
    "listenbrainz": {
        "listenbrainz_user": "sim-user",
        "listenbrainz_api_url": f"{BASE}/listenbrainz",
    },
    "spotify,lastfm": {
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "accounts_url": BASE,
        "api_url": f"{BASE}/v1",
        "lastfm_api_key": "sim-lastfm-key",
        "lastfm_user": "sim-user",
        "lastfm_api_url": f"{BASE}/lastfm/2.0/",
    },
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_763_900_000.0

    def __call__(self) -> float:
        return self.now


async def run(setup: str, mode: str, poll_mode: str) -> dict[str, Any]:
    """The poller with `setup`'s sources for HOURS simulated hours after a warm-up;
    `poll_mode` "always" is a watched poller, "viewers" one nobody watches (no stream
    open, no view waking it)."""
    clock = Clock()
    sims = build_simulators(new_state(BASE, clock=lambda: int(clock.now * 1000)))
    if mode == "idle":
        sims.spotify.player.set_state(sims.spotify.clock(), mode="stopped")
    transport = httpx.ASGITransport(app=sims.app)
    async with httpx.AsyncClient(transport=transport) as http:
        settings = Settings(**SETUPS[setup], poll_mode=poll_mode)
        poller = Poller(settings, Store(fakeredis.FakeAsyncRedis(), "b"), http, clock=clock)

        async def until(end: float) -> None:
            while clock.now < end:
                clock.now += await poller.poll_round()

        # Warm-up: the first 10 idle minutes poll fast by design; measure the hours after.
        await until(clock.now + (600 if mode == "idle" else 0))
        for sim in (sims.lastfm, sims.listenbrainz):
            sim.calls.clear()
        sims.spotify.calls.clear()
        await until(clock.now + 3600 * HOURS)
    spotify = sum(v for k, v in sims.spotify.calls.items() if " " not in k)
    return {
        "setup": setup,
        "mode": mode,
        "poll_mode": poll_mode,
        "spotify": spotify / HOURS,
        "lastfm": sum(sims.lastfm.calls.values()) / HOURS,
        "listenbrainz": sum(sims.listenbrainz.calls.values()) / HOURS,
        "calls": dict(sims.lastfm.calls) | dict(sims.listenbrainz.calls),
    }


async def measure() -> list[dict[str, Any]]:
    return [
        await run(setup, mode, poll_mode)
        for poll_mode in ("always", "viewers")
        for setup in SETUPS
        for mode in ("playing", "idle")
    ]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| POLL_MODE | sources | listener | Spotify / h | Last.fm / h | ListenBrainz / h "
        "| by endpoint |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items())) or "none"
        lines.append(
            f"| {r['poll_mode']} | {r['setup']} | {r['mode']} | {r['spotify']:,.0f} "
            f"| {r['lastfm']:,.0f} "
            f"| {r['listenbrainz']:,.0f} | {endpoints} |"
        )
    return "\n".join(lines)


def section(rows: list[dict[str, Any]]) -> str:
    """The docs/BENCHMARKS.md section."""
    return "\n".join(
        [
            "",
            "## Calls per source",
            "",
            f"Command: `python -m bench.source_calls` (simulated clock, {HOURS} hours per row,",
            "POLL_INTERVAL=5, IDLE_POLL_INTERVAL=30; Last.fm and ListenBrainz calls never count",
            "against SPOTIFY_DAILY_BUDGET)",
            "",
            table(rows),
            "",
            "A less preferred source is not asked while a preferred one reports something playing;",
            "ListenBrainz asks `listens` only when playing stops (and every 10 idle minutes).",
            '"playing" is the simulated playlist, whose 30-minute podcast episode is not',
            "scrobbled: a scrobbler sees it as idle and slows to IDLE_POLL_INTERVAL after",
            "10 minutes. `always` is a poller that someone watches (an open stream, or",
            "POLL_MODE=always); `viewers` with no stream open and no view is the sparse",
            "schedule a one-shot view wakes (a view's wake-up is not simulated here).",
            "",
        ]
    )


def main() -> None:
    print(table(asyncio.run(measure())))


if __name__ == "__main__":
    main()
