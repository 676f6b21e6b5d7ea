"""SSE fan-out: N subscribers on one web process, a change published to Redis, and the
time until each subscriber has it; plus the time to connect N and the memory each costs.
The same run measures the usual recipe (bench/baseline_sse.py) at the same counts.

    python -m bench.sse_fanout [--count 10000] [--runs 3] [--before CHECKOUT]

`--before` adds "nowplaying before": `python -m web` from another checkout (an older
commit's worktree), side by side in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as redis

from bench.procs import (
    CROWD_LIMITS,
    Proc,
    free_port,
    median,
    percentile,
    python,
    raise_fd_limit,
    redis_server,
    wait_http,
)
from bench.sse_client import open_crowd, wait_delivered
from shared.document import Song
from shared.heartbeat import new_heartbeat
from shared.store import Store

SERVERS = {
    "nowplaying": ["-m", "web", "--host", "127.0.0.1", "--port"],
    "nowplaying, tasks woken": ["-m", "web", "--host", "127.0.0.1", "--port"],
    "sse-starlette + Queue": ["-m", "bench.baseline_sse", "--port"],
}
# The public-asyncio alternative to hand-driven sends (web/fanout.py): same server, each
# parked stream's task is woken with the message and sends it itself.
SERVER_ENV = {"nowplaying, tasks woken": {"NOWPLAYING_FANOUT": "tasks"}}
CHANGES = 5


def song(n: int) -> Song:
    return {
        "isPlaying": True,
        "source": "current",
        "type": "track",
        "id": f"track{n:017d}",
        "name": f"Benchmark song {n}",
        "artists": ["The Load Generators"],
        "album": "Ten Thousand Listeners",
        "albumImageUrl": "https://i.scdn.co/image/ab67616d0000b273" + "0" * 24,
        "images": [
            {
                "url": "https://i.scdn.co/image/ab67616d0000b273" + "0" * 24,
                "width": 640,
                "height": 640,
            }
        ],
        "spotifyUrl": f"https://open.spotify.com/track/track{n:017d}",
        "previewUrl": None,
        "durationMs": 213573,
        "progressMs": 1000,
        "progressAt": int(time.time() * 1000),
        "playedAt": None,
        "explicit": False,
        "provider": "spotify",
        "url": f"https://open.spotify.com/track/track{n:017d}",
    }


@dataclass
class FanoutResult:
    server: str
    count: int
    connected: int
    connect_s: float
    kb_per_subscriber: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivered: float  # fraction of (subscribers x changes) that arrived within 10 s


async def keep_heartbeat(store: Store) -> None:
    """Stand in for a live poller, so the web's watchdog never marks the data stale."""
    while True:
        await store.write_heartbeat(new_heartbeat(int(time.time() * 1000), "bench"))
        await asyncio.sleep(2)


BEFORE: dict[str, Path] = {}  # "nowplaying before" -> the checkout it runs from


async def one_run(
    server: str, redis_url: str, count: int, argv: list[str] | None = None
) -> FanoutResult:
    """One server (`argv`, default SERVERS[server], then the port) under `count` streams."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    store = Store(redis.from_url(redis_url), prefix)
    await store.publish(song(0), stale=False, demo=False, now_ms=int(time.time() * 1000))
    beat = asyncio.create_task(keep_heartbeat(store))
    port = free_port()
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": prefix, "LOG_LEVEL": "WARNING", **CROWD_LIMITS}
    env |= SERVER_ENV.get(server, {})
    name = server.split()[0].strip(",")
    proc: Proc = python(name, [*(argv or SERVERS[server]), str(port)], env, BEFORE.get(server))
    try:
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/healthz", 20, proc)
        warm = await open_crowd("127.0.0.1", port, "/api/stream", 20)
        warm.close()
        await asyncio.sleep(1.0)
        base_kb = proc.rss_kb()
        crowd = await open_crowd("127.0.0.1", port, "/api/stream", count, timeout_s=30)
        connected = sum(1 for c in crowd.connections if c.seen)
        await asyncio.sleep(2.0)
        idle_kb = proc.rss_kb()
        latencies: list[float] = []
        delivered = 0
        for n in range(1, CHANGES + 1):
            # The load client's own garbage collection would stall its reads and show up
            # as server latency: collect before each change, none during it.
            gc.collect()
            gc.disable()
            start = time.time()  # the client's arrival times are wall-clock kernel stamps
            document = await store.publish(
                song(n), stale=False, demo=False, now_ms=int(time.time() * 1000)
            )
            delivered += await wait_delivered(crowd, document["version"], 10.0)
            gc.enable()
            latencies += [t - start for t in crowd.arrival(document["version"])]
            await asyncio.sleep(0.5)
        crowd.close()
        await asyncio.sleep(0.5)
    finally:
        proc.stop()
        beat.cancel()
        await store.close()
    ms = [x * 1000 for x in latencies]
    return FanoutResult(
        server=server,
        count=count,
        connected=connected,
        connect_s=crowd.connect_s,
        kb_per_subscriber=(idle_kb - base_kb) / max(1, connected),
        p50_ms=percentile(ms, 50),
        p99_ms=percentile(ms, 99),
        max_ms=max(ms) if ms else float("nan"),
        delivered=delivered / max(1, connected * CHANGES),
    )


def summarize(results: list[FanoutResult]) -> list[dict[str, Any]]:
    """Median of every figure over the runs, per (server, count)."""
    rows = []
    keys = sorted({(r.server, r.count) for r in results}, key=lambda k: (k[1], k[0]))
    for server, count in keys:
        runs = [r for r in results if (r.server, r.count) == (server, count)]
        rows.append(
            {
                "server": server,
                "count": count,
                "runs": len(runs),
                "connected": median([r.connected for r in runs]),
                "connect_s": median([r.connect_s for r in runs]),
                "kb_per_subscriber": median([r.kb_per_subscriber for r in runs]),
                "p50_ms": median([r.p50_ms for r in runs]),
                "p99_ms": median([r.p99_ms for r in runs]),
                "max_ms": median([r.max_ms for r in runs]),
                "delivered": median([r.delivered for r in runs]),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| server | subscribers | connected | connect all (s) | KB per idle subscriber "
        "| change p50 (ms) | p99 (ms) | max (ms) | delivered |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['server']} | {r['count']:,} | {r['connected']:,.0f} | {r['connect_s']:.2f} "
            f"| {r['kb_per_subscriber']:.1f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} "
            f"| {r['max_ms']:.0f} | {r['delivered']:.1%} |"
        )
    return "\n".join(lines)


async def measure(counts: list[int], runs: int) -> list[dict[str, Any]]:
    raise_fd_limit()
    results: list[FanoutResult] = []
    with redis_server() as url:
        for _ in range(runs):
            for count in counts:
                for server in SERVERS:  # side by side, alternating, in one run
                    result = await one_run(server, url, count)
                    print(f"  {result}", flush=True)
                    results.append(result)
    return summarize(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, action="append")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout to measure beside")
    args = parser.parse_args()
    if args.before is not None:
        BEFORE["nowplaying before"] = args.before
        SERVERS["nowplaying before"] = SERVERS["nowplaying"]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(measure(args.count or [10_000], args.runs))
    print(table(rows))


if __name__ == "__main__":
    main()
