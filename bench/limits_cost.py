"""What the request limits cost: nowplaying's web with them (`python -m web`) and without
(`python -m bench.unlimited_web`), side by side and alternating in one run, on the two
paths every viewer takes: `GET /api/now-playing` (wrk) and a change fanned out to N open
streams (bench/sse_fanout.py's measurement). Both get the same raised stream caps, so the
difference is the limits' bookkeeping, not a refusal.

    python -m bench.limits_cost [--runs 3] [--seconds 5] [--count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any, TypeVar

import httpx

from bench.http_json import seed, wrk
from bench.procs import (
    CROWD_LIMITS,
    Proc,
    free_port,
    median,
    python,
    raise_fd_limit,
    redis_server,
    wait_http,
)
from bench.sse_fanout import one_run

VARIANTS = {
    "with limits": ["-m", "web", "--host", "127.0.0.1", "--port"],
    "without limits": ["-m", "bench.unlimited_web", "--port"],
}


T = TypeVar("T")


def _alternating(items: list[T], run: int) -> list[T]:
    """Each run in the other order, so that neither variant always goes first."""
    return items if run % 2 == 0 else items[::-1]


def json_side_by_side(url: str, runs: int, seconds: int) -> dict[str, list[float]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    asyncio.run(seed(url, prefix))
    env = {"REDIS_URL": url, "REDIS_PREFIX": prefix, **CROWD_LIMITS}
    procs: dict[str, tuple[Proc, str]] = {}
    try:
        for name, argv in VARIANTS.items():
            port = free_port()
            proc = python(name.split()[0], [*argv, str(port)], env)
            wait_http(f"http://127.0.0.1:{port}/healthz", 20, proc)
            procs[name] = (proc, f"http://127.0.0.1:{port}/api/now-playing")
        bodies = {httpx.get(target).content for _, target in procs.values()}
        assert len(bodies) == 1, "both must serve the same bytes"
        for _, target in procs.values():
            wrk(target, 1)  # warm
        results: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for run in range(runs):
            for name, (_, target) in _alternating(list(procs.items()), run):
                results[name].append(wrk(target, seconds))
            print(f"  json { ({k: v[-1] for k, v in results.items()}) }", flush=True)
        return results
    finally:
        for proc, _ in procs.values():
            proc.stop()


async def fanout_side_by_side(url: str, runs: int, count: int) -> dict[str, list[Any]]:
    results: dict[str, list[Any]] = {name: [] for name in VARIANTS}
    for run in range(runs):
        for name, argv in _alternating(list(VARIANTS.items()), run):
            result = await one_run(name, url, count, argv)
            print(f"  fanout {result}", flush=True)
            results[name].append(result)
    return results


def measure(runs: int, seconds: int, count: int) -> dict[str, Any]:
    raise_fd_limit()
    with redis_server() as url:
        json_rps = json_side_by_side(url, runs, seconds)
        fanout = asyncio.run(fanout_side_by_side(url, runs, count))
    rows = {}
    for name in VARIANTS:
        rows[name] = {
            "json_rps": median(json_rps[name]),
            "json_all": json_rps[name],
            "connect_s": median([r.connect_s for r in fanout[name]]),
            "p50_ms": median([r.p50_ms for r in fanout[name]]),
            "p99_ms": median([r.p99_ms for r in fanout[name]]),
            "delivered": median([r.delivered for r in fanout[name]]),
        }
    return {"runs": runs, "seconds": seconds, "count": count, "rows": rows}


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows["without limits"]
    lines = [
        f"| web | JSON requests/s (median) | all runs | vs without | {result['count']:,} "
        "streams: connect all (s) | change p50 (ms) | p99 (ms) | delivered |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        runs = ", ".join(f"{x:,.0f}" for x in r["json_all"])
        lines.append(
            f"| {name} | {r['json_rps']:,.0f} | {runs} | {r['json_rps'] / base['json_rps']:.2f} "
            f"| {r['connect_s']:.2f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} "
            f"| {r['delivered']:.1%} |"
        )
    return "\n".join(lines)


def section(result: dict[str, Any]) -> str:
    """The Markdown section docs/BENCHMARKS.md carries (bench/run_all.py appends it)."""
    return "\n".join(
        [
            "## Request limits (header cap and deadline, connection and stream caps)",
            "",
            f"Command: `python -m bench.limits_cost --runs {result['runs']} "
            f"--seconds {result['seconds']} --count {result['count']}`",
            "",
            "The same web app with the limits (`python -m web`) and without them",
            "(`python -m bench.unlimited_web`), alternating which goes first, in one run; both",
            "with the stream caps raised above the crowd. JSON: wrk as in the cached-JSON",
            "section; fan-out: five changes to the open streams as in the fan-out section.",
            "",
            table(result),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(section(measure(args.runs, args.seconds, args.count)))


if __name__ == "__main__":
    main()
