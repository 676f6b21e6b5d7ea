"""What the request limits cost: nowplaying's web with them (`python -m web`) and without
(`python -m bench.unlimited_web`), side by side and alternating in one run, on the two
paths every viewer takes: `GET /api/now-playing` (wrk) and a change fanned out to N open
streams (bench/sse_fanout.py's measurement). Both get the same raised stream caps, so the
difference is the limits' bookkeeping, not a refusal.

With `--before DIR` (a checkout of an earlier commit, e.g. `git worktree add --detach
/tmp/np-before main`) that commit's `python -m web` runs as a third variant in the same
run, so a change's own cost on the JSON route is a ratio measured side by side;
`--json-only` skips the fan-out.

    python -m bench.limits_cost [--runs 3] [--seconds 5] [--count 5000] [--before DIR]
        [--json-only]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import uuid
from pathlib import Path
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
BEFORE = "before"  # the earlier checkout's web, with its limits (--before)


T = TypeVar("T")


def _alternating(items: list[T], run: int) -> list[T]:
    """Each run in the other order, so that neither variant always goes first."""
    return items if run % 2 == 0 else items[::-1]


def json_side_by_side(
    url: str, runs: int, seconds: int, before: Path | None = None
) -> dict[str, list[float]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    asyncio.run(seed(url, prefix))
    env = {"REDIS_URL": url, "REDIS_PREFIX": prefix, **CROWD_LIMITS}
    variants: dict[str, tuple[list[str], Path | None]] = {
        name: (argv, None) for name, argv in VARIANTS.items()
    }
    if before is not None:
        variants[BEFORE] = (VARIANTS["with limits"], before)
    procs: dict[str, tuple[Proc, str]] = {}
    try:
        for name, (argv, cwd) in variants.items():
            port = free_port()
            proc = python(name.split()[0], [*argv, str(port)], env, cwd)
            wait_http(f"http://127.0.0.1:{port}/healthz", 20, proc)
            procs[name] = (proc, f"http://127.0.0.1:{port}/api/now-playing")
        bodies = {httpx.get(target).content for _, target in procs.values()}
        assert len(bodies) == 1, "every variant must serve the same bytes"
        for _, target in procs.values():
            wrk(target, 1)  # warm
        results: dict[str, list[float]] = {name: [] for name in variants}
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


def commit_of(folder: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or str(folder)


def measure(
    runs: int, seconds: int, count: int, before: Path | None = None, json_only: bool = False
) -> dict[str, Any]:
    raise_fd_limit()
    with redis_server() as url:
        json_rps = json_side_by_side(url, runs, seconds, before)
        fanout = {} if json_only else asyncio.run(fanout_side_by_side(url, runs, count))
    rows: dict[str, dict[str, Any]] = {}
    for name in json_rps:
        rows[name] = {"json_rps": median(json_rps[name]), "json_all": json_rps[name]}
        if name in fanout:
            rows[name] |= {
                "connect_s": median([r.connect_s for r in fanout[name]]),
                "p50_ms": median([r.p50_ms for r in fanout[name]]),
                "p99_ms": median([r.p99_ms for r in fanout[name]]),
                "delivered": median([r.delivered for r in fanout[name]]),
            }
    result = {"runs": runs, "seconds": seconds, "count": count, "rows": rows}
    if before is not None:
        result["before"] = str(before)
        result["before_commit"] = commit_of(before)
        result["commit"] = commit_of(Path(__file__).resolve().parent.parent)
    return result | {"json_only": json_only}


def table(result: dict[str, Any]) -> str:
    rows = result["rows"]
    base = rows["without limits"]
    before = rows.get(BEFORE)
    fanout = not result.get("json_only")
    header = "| web | JSON requests/s (median) | all runs | vs without |"
    rule = "|---|---:|---|---:|"
    if before is not None:
        header, rule = header + " vs before |", rule + "---:|"
    if fanout:
        header += (
            f" {result['count']:,} streams: connect all (s) | change p50 (ms) | p99 (ms)"
            " | delivered |"
        )
        rule += "---:|---:|---:|---:|"
    lines = [header, rule]
    for name, r in rows.items():
        runs = ", ".join(f"{x:,.0f}" for x in r["json_all"])
        label = f"before ({result['before_commit']})" if name == BEFORE else name
        if name == "with limits" and before is not None:
            label = f"with limits ({result['commit']})"
        ratio = r["json_rps"] / base["json_rps"]
        line = f"| {label} | {r['json_rps']:,.0f} | {runs} | {ratio:.2f} |"
        if before is not None:
            line += f" {r['json_rps'] / before['json_rps']:.3f} |"
        if fanout:
            line += (
                f" {r['connect_s']:.2f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f}"
                f" | {r['delivered']:.1%} |"
            )
        lines.append(line)
    return "\n".join(lines)


def section(result: dict[str, Any]) -> str:
    """The Markdown section docs/BENCHMARKS.md carries (bench/run_all.py appends it)."""
    return "\n".join(
        [
            "## Request limits (header cap and deadline, connection and stream caps)",
            "",
            f"Command: `python -m bench.limits_cost --runs {result['runs']} "
            f"--seconds {result['seconds']} --count {result['count']}"
            + (f" --before {result['before']}" if "before" in result else "")
            + (" --json-only" if result.get("json_only") else "")
            + "`",
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
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit")
    parser.add_argument("--json-only", action="store_true", help="skip the fan-out")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(section(measure(args.runs, args.seconds, args.count, args.before, args.json_only)))


if __name__ == "__main__":
    main()
