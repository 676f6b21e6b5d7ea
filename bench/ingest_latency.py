"""Push ingest as separate processes (redis-server, `python -m poller`, `python -m web`):

- latency: `POST /1/submit-listens` (a `playing_now`, as a ListenBrainz client sends it)
  until the event carrying it arrives on an open `/api/stream` (kernel arrival stamps of
  the fan-out bench's client), one submission at a time, `--samples` of them;
- throughput: accepted submissions per second of one web process, `--clients` concurrent
  keep-alive clients posting as fast as they are answered for `--seconds` (the poller
  publishes along, as it would).

    python -m bench.ingest_latency [--samples 200] [--seconds 5] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bench.procs import free_port, median, percentile, python, redis_server, wait_http
from bench.sse_client import SSEConnection, open_crowd

TOKEN = "bench-ingest-token-0123456789abcdef"
SUBMIT = "/1/submit-listens"


def listen(n: int) -> bytes:
    body = {
        "listen_type": "playing_now",
        "payload": [
            {
                "track_metadata": {
                    "artist_name": "Bench Artist",
                    "track_name": f"Bench track {n}",
                    "additional_info": {"duration_ms": 240_000, "submission_client": "bench"},
                }
            }
        ],
    }
    return json.dumps(body).encode()


@contextlib.asynccontextmanager
async def stack() -> AsyncIterator[int]:
    """redis-server, the poller and the web app, push ingest as the only source."""
    with redis_server() as redis_url:
        port = free_port()
        env = {
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"bench{uuid.uuid4().hex[:8]}",
            "INGEST_TOKEN": TOKEN,
            "POLL_MODE": "always",
        }
        procs = [python("poller", ["-m", "poller"], env)]
        try:
            procs.append(python("web", ["-m", "web", "--port", str(port)], env))
            await asyncio.to_thread(wait_http, f"http://127.0.0.1:{port}/readyz", 30, procs[1])
            yield port
        finally:
            for proc in reversed(procs):
                proc.stop()


async def _event_after(conn: SSEConnection, version: int, timeout_s: float) -> int:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        newer = [v for v in conn.seen if v > version]
        if newer:
            return min(newer)
        await asyncio.sleep(0.001)
    raise TimeoutError(f"no event after version {version} within {timeout_s} s")


async def latency(port: int, samples: int) -> list[float]:
    """Seconds from the POST until the stream's event, one submission at a time."""
    crowd = await open_crowd("127.0.0.1", port, "/api/stream", 1)
    conn = crowd.connections[0]
    headers = {"Authorization": f"Token {TOKEN}"}
    delays: list[float] = []
    rng = random.Random(20261204)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await http.post(SUBMIT, content=listen(-1), headers=headers)  # warm-up
            await _event_after(conn, 0, 5)
            for n in range(samples):
                await asyncio.sleep(rng.uniform(0.02, 0.08))
                before = max(conn.seen)
                start = time.time()  # arrival stamps are wall-clock
                answer = await http.post(SUBMIT, content=listen(n), headers=headers)
                answer.raise_for_status()
                version = await _event_after(conn, before, 5)
                delays.append(conn.seen[version] - start)
    finally:
        crowd.close()
    return delays


async def throughput(port: int, seconds: float, clients: int) -> dict[str, float]:
    """Accepted submissions per second from `clients` concurrent keep-alive clients."""
    headers = {"Authorization": f"Token {TOKEN}"}
    counts = {"ok": 0, "other": 0}
    stop = time.monotonic() + seconds

    async def one(k: int, http: httpx.AsyncClient) -> None:
        n = 0
        while time.monotonic() < stop:
            answer = await http.post(SUBMIT, content=listen(k * 1_000_000 + n), headers=headers)
            counts["ok" if answer.status_code == 200 else "other"] += 1
            n += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as http:
        started = time.monotonic()
        await asyncio.gather(*(one(k, http) for k in range(clients)))
        elapsed = time.monotonic() - started
    return {"per_s": counts["ok"] / elapsed, "ok": counts["ok"], "refused": counts["other"]}


async def measure(samples: int = 200, seconds: float = 5.0, clients: int = 16) -> dict[str, Any]:
    async with stack() as port:
        delays = await latency(port, samples)
        rate = await throughput(port, seconds, clients)
    result = {
        "samples": samples,
        "seconds": seconds,
        "clients": clients,
        "p50_ms": median(delays) * 1000,
        "p99_ms": percentile(delays, 99) * 1000,
        "max_ms": max(delays) * 1000,
        **rate,
    }
    print(f"  ingest {result}", flush=True)
    return result


def section(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            "## Push ingest",
            "",
            f"Command: `python -m bench.ingest_latency --samples {result['samples']} "
            f"--seconds {result['seconds']:g} --clients {result['clients']}` (real processes:",
            "redis-server, `python -m poller`, `python -m web`, INGEST_TOKEN the only source)",
            "",
            "From `POST /1/submit-listens` (a `playing_now`) until its event arrives on an open",
            "`/api/stream` (the contract: within 1 s), one submission at a time; and accepted",
            "submissions per second of one web process under concurrent clients (the poller",
            "reads and publishes each one along).",
            "",
            "| submissions | p50 (ms) | p99 (ms) | max (ms) | throughput (accepted/s) | clients |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| {result['samples']} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | "
            f"{result['max_ms']:.1f} | {result['per_s']:,.0f} | {result['clients']} |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    print(section(asyncio.run(measure(args.samples, args.seconds, args.clients))))


if __name__ == "__main__":
    main()
