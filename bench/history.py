"""`GET /history.svg`'s render latency (p50/p99, one request at a time, art hidden so that
only the render and the Redis read are timed) and `GET /api/history`'s throughput (wrk),
against one web process on a real Redis holding a full history (HISTORY_LIMIT sessions).

    python -m bench.history [--runs 3] [--seconds 5] [--renders 500]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import httpx
import redis.asyncio as redis

from bench.http_json import wrk
from bench.procs import Proc, free_port, median, python, redis_server, wait_http
from shared.heartbeat import new_heartbeat
from shared.history import Session, add_sessions
from shared.store import Store

SESSIONS = 5000


def session(n: int, ended_ms: int) -> Session:
    return {
        "id": f"bench{n}",
        "provider": "spotify",
        "type": "track",
        "name": f"Song number {n} (Remastered 2011)",
        "artists": ["An Artist", "Another One"],
        "album": "An Album of Songs",
        "url": f"https://open.spotify.com/track/{n:022d}",
        "imageUrl": f"https://i.scdn.co/image/{n:040d}",
        "startedAt": ended_ms - 200_000,
        "endedAt": ended_ms,
        "listenedMs": 200_000,
        "durationMs": 210_000,
        "skipped": False,
        "source": "current",
    }


async def seed(url: str, prefix: str) -> None:
    store = Store(redis.from_url(url), prefix)
    now = int(time.time() * 1000)
    batch = [session(n, now - (SESSIONS - n) * 240_000) for n in range(SESSIONS)]
    for start in range(0, SESSIONS, 500):
        await add_sessions(store, batch[start : start + 500], SESSIONS)
    await store.write_heartbeat(new_heartbeat(now + 3_600_000, "bench"))
    await store.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def renders(base: str, count: int) -> list[float]:
    """Milliseconds per /history.svg answer, one after another on one connection."""
    timings: list[float] = []
    with httpx.Client() as client:
        for n in range(count + 20):
            query = "?art=hide&limit=10" if n % 2 else "?art=hide&theme=dark"
            started = time.perf_counter()
            answer = client.get(f"{base}/history.svg{query}")
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == 200
            if n >= 20:  # the first ones warm up
                timings.append(elapsed)
    return timings


def measure(runs: int, seconds: int, count: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {"api": [], "api 304": [], "p50": [], "p99": []}
    with redis_server() as url:
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        asyncio.run(seed(url, prefix))
        port = free_port()
        web: Proc = python(
            "web", ["-m", "web", "--port", str(port)], {"REDIS_URL": url, "REDIS_PREFIX": prefix}
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/healthz", 20, web)
            etag = httpx.get(f"{base}/api/history").headers["etag"]
            wrk(f"{base}/api/history", 1)
            for _ in range(runs):
                timings = renders(base, count)
                results["p50"].append(percentile(timings, 0.50))
                results["p99"].append(percentile(timings, 0.99))
                results["api"].append(wrk(f"{base}/api/history", seconds))
                results["api 304"].append(
                    wrk(f"{base}/api/history", seconds, {"If-None-Match": etag})
                )
                print(f"  { ({k: round(v[-1], 2) for k, v in results.items()}) }", flush=True)
        finally:
            web.stop()
    return {"runs": runs, "median": {k: median(v) for k, v in results.items()}, "all": results}


def table(result: dict[str, Any]) -> str:
    med, runs = result["median"], result["all"]
    return "\n".join(
        [
            "| measure | median | all runs |",
            "|---|---:|---|",
            f"| /history.svg render p50 (ms) | {med['p50']:.2f} | "
            + ", ".join(f"{x:.2f}" for x in runs["p50"])
            + " |",
            f"| /history.svg render p99 (ms) | {med['p99']:.2f} | "
            + ", ".join(f"{x:.2f}" for x in runs["p99"])
            + " |",
            f"| /api/history requests/s | {med['api']:,.0f} | "
            + ", ".join(f"{x:,.0f}" for x in runs["api"])
            + " |",
            f"| /api/history 304 requests/s | {med['api 304']:,.0f} | "
            + ", ".join(f"{x:,.0f}" for x in runs["api 304"])
            + " |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--renders", type=int, default=500)
    args = parser.parse_args()
    print(table(measure(args.runs, args.seconds, args.renders)))


if __name__ == "__main__":
    main()
