"""The whole stack as separate processes (redis-server, the simulated Spotify, the poller,
the web app), measured for what a viewer and Spotify see:

- economy: Spotify calls in a window with 0, 100 and 5,000 SSE subscribers;
- freshness: a skip at the simulator until the SSE event, and the natural end of a track
  until the SSE event;
- footprint: `nowplaying run` until it answers with a song, and each process's RSS.

    python -m bench.live [--window 30] [--samples 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench.procs import (
    CROWD_LIMITS,
    Proc,
    free_port,
    median,
    python,
    raise_fd_limit,
    redis_server,
    rss_kb,
    wait_http,
)
from bench.sse_client import SSEConnection, open_crowd
from nowplaying.simulator.spotify import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
)

POLL_INTERVAL = 5.0


@dataclass
class Stack:
    sim_url: str
    web_port: int
    poller: Proc
    web: Proc
    http: httpx.AsyncClient

    async def sim_calls(self) -> dict[str, int]:
        state = (await self.http.get(f"{self.sim_url}/_sim/state")).json()
        return {k: v for k, v in state["calls"].items() if " " not in k}

    async def reset_calls(self) -> None:
        await self.http.post(f"{self.sim_url}/_sim/config", json={"resetCalls": True})


@contextlib.asynccontextmanager
async def stack(poll_interval: float = POLL_INTERVAL) -> AsyncIterator[Stack]:
    with redis_server() as redis_url:
        sim_port, web_port = free_port(), free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        sim = python("simulator", ["-m", "nowplaying.cli", "simulator", "--port", str(sim_port)])
        procs = [sim]
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                await asyncio.to_thread(wait_http, f"{sim_url}/_sim/state", 20, sim)
                env = {
                    "REDIS_URL": redis_url,
                    "REDIS_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
                    "SPOTIFY_CLIENT_ID": DEFAULT_CLIENT_ID,
                    "SPOTIFY_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
                    "SPOTIFY_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN,
                    "SPOTIFY_ACCOUNTS_URL": sim_url,
                    "SPOTIFY_API_URL": f"{sim_url}/v1",
                    "POLL_INTERVAL": str(poll_interval),
                    **CROWD_LIMITS,
                    # The polling machinery at POLL_INTERVAL, with no demand rule: polling with
                    # nobody watching, no budget pacing (bench.quota_week measures those).
                    "POLL_MODE": "always",
                    "SPOTIFY_DAILY_BUDGET": "1000000",
                }
                poller = python("poller", ["-m", "poller"], env)
                web = python("web", ["-m", "web", "--port", str(web_port)], env)
                procs += [poller, web]
                await asyncio.to_thread(wait_http, f"http://127.0.0.1:{web_port}/readyz", 30, web)
                yield Stack(sim_url, web_port, poller, web, http)
        finally:
            for proc in reversed(procs):
                proc.stop()


async def economy(s: Stack, counts: list[int], window_s: float) -> list[dict[str, Any]]:
    """Spotify calls while `count` SSE subscribers watch; the poller alone decides."""
    rows = []
    for count in counts:
        crowd = await open_crowd("127.0.0.1", s.web_port, "/api/stream", count) if count else None
        await s.reset_calls()
        await asyncio.sleep(window_s)
        calls = await s.sim_calls()
        total = sum(calls.values())
        rows.append(
            {
                "subscribers": count,
                "connected": sum(1 for c in crowd.connections if c.seen) if crowd else 0,
                "calls": total,
                "per_hour": total * 3600 / window_s,
                "endpoints": calls,
            }
        )
        print(f"  economy {rows[-1]}", flush=True)
        if crowd:
            crowd.close()
            await asyncio.sleep(1)
    return rows


async def _next_event(conn: SSEConnection, after: int, timeout_s: float) -> int:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        newer = [v for v in conn.seen if v > after]
        if newer:
            return min(newer)
        await asyncio.sleep(0.002)
    raise TimeoutError(f"no event after version {after} within {timeout_s} s")


async def freshness(s: Stack, samples: int, interval: float) -> dict[str, list[float]]:
    """Delays in seconds. Skips are placed at evenly spread phases of the poll cycle
    (each event marks a poll; the next skip follows it by (k + 0.5) / samples of an
    interval), which samples "a change at a random moment" without its variance."""
    crowd = await open_crowd("127.0.0.1", s.web_port, "/api/stream", 1)
    conn = crowd.connections[0]
    skips: list[float] = []
    ends: list[float] = []
    try:
        # Every skip's event marks a poll; the first one only sets that rhythm.
        before = max(conn.seen)
        await s.http.post(f"{s.sim_url}/_sim/skip")
        await _next_event(conn, before, 3 * interval)
        for k in range(samples):
            await asyncio.sleep(interval * (k + 0.5) / samples)
            before = max(conn.seen)
            start = time.time()  # arrival times are wall-clock kernel stamps
            await s.http.post(f"{s.sim_url}/_sim/skip")
            version = await _next_event(conn, before, 3 * interval)
            skips.append(conn.seen[version] - start)
        for _ in range(max(3, samples // 2)):
            state = (await s.http.get(f"{s.sim_url}/_sim/state")).json()
            lead_ms = int(interval * 1000) + 3000
            if state["durationMs"] < 2 * lead_ms or state["mode"] != "playing":
                await s.http.post(f"{s.sim_url}/_sim/skip")
                await asyncio.sleep(interval + 1)
                continue
            before = max(conn.seen)
            await s.http.post(
                f"{s.sim_url}/_sim/state", json={"positionMs": state["durationMs"] - lead_ms}
            )
            end_at = time.time() + lead_ms / 1000
            seek = await _next_event(conn, before, 2 * interval)  # the seek itself is news
            version = await _next_event(conn, seek, lead_ms / 1000 + 2 * interval)
            ends.append(conn.seen[version] - end_at)
            await asyncio.sleep(0.5)
    finally:
        crowd.close()
    return {"skip": skips, "end": ends}


async def run_start(runs: int) -> tuple[list[float], list[int]]:
    """Seconds from spawning `nowplaying run` until /api/now-playing has a song, and its
    RSS (kB) 3 s later."""
    times: list[float] = []
    rss: list[int] = []
    async with httpx.AsyncClient(timeout=1) as http:
        for _ in range(runs):
            port = free_port()
            started = time.monotonic()
            proc = python("run", ["-m", "nowplaying.cli", "run", "--port", str(port)])
            try:
                while True:
                    if proc.process.poll() is not None or time.monotonic() - started > 30:
                        raise RuntimeError(f"nowplaying run did not answer:\n{proc.log()}")
                    with contextlib.suppress(httpx.HTTPError, ValueError):
                        r = await http.get(f"http://127.0.0.1:{port}/api/now-playing")
                        if r.status_code == 200 and r.json()["song"]:
                            times.append(time.monotonic() - started)
                            break
                    await asyncio.sleep(0.02)
                await asyncio.sleep(3)
                rss.append(rss_kb(proc.pid))
                print(
                    f"  run answered in {times[-1]:.2f} s, RSS {rss[-1] / 1024:.1f} MB", flush=True
                )
            finally:
                proc.stop()
    return times, rss


async def measure(window_s: float, samples: int, counts: list[int]) -> dict[str, Any]:
    raise_fd_limit()
    result: dict[str, Any] = {"interval": POLL_INTERVAL, "window": window_s}
    result["run_start"], result["run_rss_kb"] = await run_start(3)
    async with stack() as s:
        await asyncio.sleep(5)
        result["web_idle_rss_kb"] = s.web.rss_kb()
        result["economy"] = await economy(s, counts, window_s)
        result["poller_rss_kb"] = s.poller.rss_kb()
        result["freshness"] = await freshness(s, samples, POLL_INTERVAL)
        result["poller_rss_kb_end"] = s.poller.rss_kb()
    return result


def tables(r: dict[str, Any]) -> str:
    lines = [
        f"Spotify calls in a {r['window']:.0f} s window (POLL_INTERVAL={r['interval']:.0f}), "
        "by number of SSE subscribers:",
        "",
        "| subscribers | connected | calls in window | per hour | by endpoint |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in r["economy"]:
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(row["endpoints"].items()))
        lines.append(
            f"| {row['subscribers']:,} | {row['connected']:,} | {row['calls']} "
            f"| {row['per_hour']:,.0f} | {endpoints} |"
        )
    f = r["freshness"]
    lines += [
        "",
        "| freshness (POLL_INTERVAL=5) | samples | median | min | max | target |",
        "|---|---:|---:|---:|---:|---:|",
        f"| skip at the simulator -> SSE event | {len(f['skip'])} | {median(f['skip']):.2f} s "
        f"| {min(f['skip']):.2f} s | {max(f['skip']):.2f} s | ≤ 2.60 s |",
        f"| natural end of track -> SSE event | {len(f['end'])} | {median(f['end']):.2f} s "
        f"| {min(f['end']):.2f} s | {max(f['end']):.2f} s | ≤ 1.00 s |",
        "",
        "| footprint | median | all | target |",
        "|---|---:|---|---:|",
        f"| `nowplaying run`: spawn -> a song on /api/now-playing | {median(r['run_start']):.2f} s "
        f"| {', '.join(f'{x:.2f}' for x in r['run_start'])} | ≤ 2 s |",
        f"| poller RSS (after the economy runs; at the end) | {r['poller_rss_kb'] / 1024:.1f} MB "
        f"| {r['poller_rss_kb_end'] / 1024:.1f} MB | ≤ 60 MB |",
        f"| web RSS, idle (no subscribers) | {r['web_idle_rss_kb'] / 1024:.1f} MB | | ≤ 60 MB |",
        f"| `nowplaying run` RSS (web + poller + simulator, embedded store) "
        f"| {median(r['run_rss_kb']) / 1024:.1f} MB "
        f"| {', '.join(f'{x / 1024:.1f}' for x in r['run_rss_kb'])} | |",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--counts", type=int, nargs="*", default=[0, 100, 5000])
    args = parser.parse_args()
    print(tables(asyncio.run(measure(args.window, args.samples, args.counts))))


if __name__ == "__main__":
    main()
