"""`GET /api/now-playing` against a bare Starlette route returning the same bytes, and the
304 answer to a matching If-None-Match, measured side by side with wrk in one run; so are
the one-shot views `/now.txt` and `/open` (302), which must keep up with the JSON.

    python -m bench.http_json [--runs 3] [--seconds 5] [--before CHECKOUT]

`--before` also serves /api/now-playing from another checkout (an older commit's worktree,
e.g. `git worktree add /tmp/before <commit>`), measured in the same run, alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as redis

from bench.procs import Proc, free_port, median, python, redis_server, wait_http
from bench.sse_fanout import song
from shared.heartbeat import new_heartbeat
from shared.store import Store

CONNECTIONS = 50


def wrk(url: str, seconds: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second from one wrk thread (the server has the other core)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    args = [binary, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{out}")
    return float(match.group(1))


async def seed(url: str, prefix: str) -> None:
    store = Store(redis.from_url(url), prefix)
    await store.publish(song(1), stale=False, demo=False, now_ms=int(time.time() * 1000))
    # A fresh heartbeat, so that the web's watchdog leaves the document alone.
    await store.write_heartbeat(new_heartbeat(int(time.time() * 1000) + 3_600_000, "bench"))
    await store.close()


def measure(runs: int, seconds: int, before: Path | None = None) -> dict[str, Any]:
    results: dict[str, list[float]] = {
        "bare": [],
        "nowplaying": [],
        "nowplaying 304": [],
        "now.txt": [],
        "open": [],
    }
    with redis_server() as url:
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        asyncio.run(seed(url, prefix))
        web_port, bare_port = free_port(), free_port()
        env = {"REDIS_URL": url, "REDIS_PREFIX": prefix}
        web: Proc = python("web", ["-m", "web", "--port", str(web_port)], env)
        procs = [web]
        old_url = None
        if before is not None:
            old_port = free_port()
            old = python("before", ["-m", "web", "--port", str(old_port)], env, cwd=before)
            procs.append(old)
            wait_http(f"http://127.0.0.1:{old_port}/healthz", 20, old)
            old_url = f"http://127.0.0.1:{old_port}/api/now-playing"
            results["before"] = []
        try:
            wait_http(f"http://127.0.0.1:{web_port}/healthz", 20, web)
            answer = httpx.get(f"http://127.0.0.1:{web_port}/api/now-playing")
            body = Path(tempfile.mkstemp(suffix=".json")[1])
            body.write_bytes(answer.content)
            etag = answer.headers["etag"]
            bare = python(
                "bare",
                ["-m", "bench.bare_json", "--port", str(bare_port), "--body-file", str(body)],
            )
            procs.append(bare)
            wait_http(f"http://127.0.0.1:{bare_port}/healthz", 20, bare)
            same = httpx.get(f"http://127.0.0.1:{bare_port}/api/now-playing").content
            assert same == answer.content, "the two servers must return the same bytes"
            ours = f"http://127.0.0.1:{web_port}/api/now-playing"
            theirs = f"http://127.0.0.1:{bare_port}/api/now-playing"
            wrk(ours, 1)  # warm both
            wrk(theirs, 1)
            for _ in range(runs):
                results["bare"].append(wrk(theirs, seconds))
                results["nowplaying"].append(wrk(ours, seconds))
                if old_url is not None:
                    results["before"].append(wrk(old_url, seconds))
                results["nowplaying 304"].append(wrk(ours, seconds, {"If-None-Match": etag}))
                results["now.txt"].append(wrk(f"http://127.0.0.1:{web_port}/now.txt", seconds))
                results["open"].append(wrk(f"http://127.0.0.1:{web_port}/open", seconds))
                print(f"  { ({k: v[-1] for k, v in results.items()}) }", flush=True)
        finally:
            for proc in procs:
                proc.stop()
    med = {k: median(v) for k, v in results.items()}
    return {
        "runs": runs,
        "seconds": seconds,
        "bytes": len(answer.content),
        "median": med,
        "all": results,
        "ratio": med["nowplaying"] / med["bare"],
        "ratio_304": med["nowplaying 304"] / med["nowplaying"],
        "ratio_views": {k: med[k] / med["nowplaying"] for k in ("now.txt", "open")},
    }


def table(result: dict[str, Any]) -> str:
    med = result["median"]
    lines = [
        "| server, route | requests/s (median) | all runs | vs bare | vs /api/now-playing |",
        "|---|---:|---|---:|---:|",
    ]
    for name in ("bare", "before", "nowplaying", "nowplaying 304", "now.txt", "open"):
        if name not in result["all"]:
            continue
        runs = ", ".join(f"{x:,.0f}" for x in result["all"][name])
        lines.append(
            f"| {name} | {med[name]:,.0f} | {runs} | {med[name] / med['bare']:.2f} "
            f"| {med[name] / med['nowplaying']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="another checkout to measure beside")
    args = parser.parse_args()
    result = measure(args.runs, args.seconds, args.before)
    print(table(result))
    print(f"ratio {result['ratio']:.3f}, 304 vs 200 {result['ratio_304']:.3f}")
    views = result["ratio_views"]
    print(f"/now.txt {views['now.txt']:.3f}, /open {views['open']:.3f} x /api/now-playing")


if __name__ == "__main__":
    main()
