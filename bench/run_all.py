"""`make bench`: every benchmark in one run, written to docs/BENCHMARKS.md.

Each figure is printed next to the command that produced it, with the target it is held
to. The load generators run on the same machine as the servers, as the targets say.

    python -m bench.run_all [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import (
    http_json,
    ingest_latency,
    limits_cost,
    live,
    proxies,
    quota_week,
    source_calls,
    spotify_calls,
    sse_fanout,
)
from bench.procs import ROOT, median

OUT = ROOT / "docs" / "BENCHMARKS.md"


def _machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"Linux {platform.release()}, commit {commit or 'unknown'}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def render(
    calls: list[dict[str, Any]],
    fanout: list[dict[str, Any]],
    json_result: dict[str, Any],
    live_result: dict[str, Any],
    elapsed_s: float,
    runs: int,
    week: list[dict[str, Any]],
) -> str:
    top = max(fanout, key=lambda r: (r["server"] == "nowplaying", r["count"]))
    same_count = {r["server"]: r for r in fanout if r["count"] == top["count"]}
    baseline = same_count.get("sse-starlette + Queue")
    woken = same_count.get("nowplaying, tasks woken")
    fresh = live_result["freshness"]
    skip_median = median(fresh["skip"])
    end_median = median(fresh["end"])
    playing, _idle, tutorial = calls
    checks = [
        (
            f"{top['count']:,} subscribers: change p99 ≤ 250 ms",
            f"{top['p99_ms']:.0f} ms",
            top["p99_ms"] <= 250 and top["delivered"] == 1.0,
        ),
        (
            "≤ 16 KB per idle subscriber",
            f"{top['kb_per_subscriber']:.1f} KB",
            top["kb_per_subscriber"] <= 16,
        ),
        (
            f"{top['count']:,} subscribers connect within 10 s",
            f"{top['connect_s']:.2f} s",
            top["connect_s"] <= 10 and top["connected"] == top["count"],
        ),
        (
            "/api/now-playing ≥ 0.9 × a bare Starlette route",
            f"{json_result['ratio']:.2f} ×",
            json_result["ratio"] >= 0.9,
        ),
        (
            "a matching If-None-Match (304) at least as fast as the 200",
            f"{json_result['ratio_304']:.2f} ×",
            json_result["ratio_304"] >= 1.0,
        ),
        (
            "/now.txt and /open ≥ 0.9 × /api/now-playing",
            " / ".join(f"{json_result['ratio_views'][k]:.2f} ×" for k in ("now.txt", "open")),
            min(json_result["ratio_views"].values()) >= 0.9,
        ),
        *[(f"week: {name}", value, ok) for name, value, ok in quota_week.targets(week[0])],
        (
            "at most one token refresh per token lifetime (1 h)",
            f"{playing['token_per_hour']:.2f} per hour over {spotify_calls.HOURS} h",
            playing["calls"].get("token", 0) <= spotify_calls.HOURS + 1,
        ),
        (
            "track change reaches SSE within POLL_INTERVAL/2 + 100 ms (median)",
            f"{skip_median:.2f} s (target 2.60 s)",
            skip_median <= live.POLL_INTERVAL / 2 + 0.1,
        ),
        ("natural end of track within 1 s (median)", f"{end_median:.2f} s", end_median <= 1.0),
        (
            "`nowplaying run` answers within 2 s",
            f"{median(live_result['run_start']):.2f} s",
            median(live_result["run_start"]) <= 2.0,
        ),
        (
            "poller RSS ≤ 60 MB",
            f"{live_result['poller_rss_kb_end'] / 1024:.1f} MB",
            live_result["poller_rss_kb_end"] <= 60 * 1024,
        ),
        (
            "idle web RSS ≤ 60 MB",
            f"{live_result['web_idle_rss_kb'] / 1024:.1f} MB",
            live_result["web_idle_rss_kb"] <= 60 * 1024,
        ),
    ]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run_all`); do not edit by hand.",
        "",
        f"Machine: {_machine()}. The load generators (the SSE client, wrk) run on the same",
        f"machine as the servers. Whole run: {elapsed_s / 60:.1f} min.",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *[f"| {name} | {value} | {_verdict(ok)} |" for name, value, ok in checks],
        "",
        "## SSE fan-out",
        "",
        f"Command: `python -m bench.sse_fanout --count 1000 --count 10000 --runs {runs}`",
        "",
        "One `nowplaying web` process (uvicorn, uvloop) subscribed to a real redis-server; the",
        "load client (bench/sse_client.py, raw asyncio sockets, one process) opens the streams,",
        "then the bench publishes 5 changes to Redis. A stream's delay runs from just before",
        "the publish to the kernel's receive timestamp (SO_TIMESTAMPNS) on that client socket,",
        "so the load client's own reading lag is not counted. Memory is the server's RSS",
        "growth over the idle streams,",
        "divided by their number. Beside it, the usual recipe (bench/baseline_sse.py:",
        "sse-starlette's EventSourceResponse with one asyncio.Queue per client) at the same",
        f"counts, alternating in the same run. Medians of {runs} runs per row.",
        "",
        sse_fanout.table(fanout),
        "",
    ]
    if baseline is not None:
        lines += [
            f"At {top['count']:,} subscribers nowplaying delivers a change with p99 "
            f"{top['p99_ms']:.0f} ms against {baseline['p99_ms']:.0f} ms, keeps "
            f"{top['kb_per_subscriber']:.1f} KB per subscriber against "
            f"{baseline['kb_per_subscriber']:.1f} KB, and connects them in "
            f"{top['connect_s']:.1f} s against {baseline['connect_s']:.1f} s.",
            "",
            "What bounds it (py-spy): about half of the fan-out is the kernel's send on each",
            "of the sockets, the rest uvicorn's `send` per stream. The hub writes each",
            "pre-encoded frame straight into every parked stream, so no task wakes per",
            "subscriber; a stream whose client stops reading is handed to its own task and",
            "dropped after 10 s.",
            "",
        ]
    if woken is not None:
        lines += [
            "The hand-driven sends (web/fanout.py) against the simplest public-asyncio",
            "alternative, the same server waking each parked stream's task with the message",
            '(`NOWPLAYING_FANOUT=tasks`, row "nowplaying, tasks woken"): change p50 '
            f"{top['p50_ms']:.0f} ms against {woken['p50_ms']:.0f} ms, p99 "
            f"{top['p99_ms']:.0f} ms against {woken['p99_ms']:.0f} ms.",
            "",
        ]
    lines += [
        "## Cached JSON",
        "",
        f"Command: `python -m bench.http_json --runs {json_result['runs']} "
        f"--seconds {json_result['seconds']}`",
        "",
        f"wrk, 1 thread, {http_json.CONNECTIONS} connections, {json_result['seconds']} s per "
        "measurement, the five alternating in each run; both servers are uvicorn with the",
        f"same settings and return the same {json_result['bytes']} bytes. The 304 row sends the",
        "document's ETag in If-None-Match. `/now.txt` (the default line) and `/open` (a 302)",
        "are the one-shot views, answered from memory like the JSON.",
        "",
        http_json.table(json_result),
        "",
        "## A week against Spotify's daily quota",
        "",
        "Command: `python -m bench.quota_week` (one simulated clock, 7 days, seed 20261123)",
        "",
        "The production poller on a discrete-event queue (see the module docstring), with",
        f"SPOTIFY_DAILY_BUDGET={quota_week.BUDGET:,} and POLL_MODE=viewers, against a simulated",
        f"Spotify that allows {quota_week.SPOTIFY_QUOTA:,} calls per rolling 24 h. The week:",
        "about 6 h of listening a day in 2 to 4 sessions (tracks of 2 to 7 min, a quarter",
        "skipped, pauses, seeks, podcast episodes some days); 200 README views a day, 30 widget",
        "visits of 1 to 10 min, and a 2-hour overlay inside a session. Beside it, the same week",
        "with today's policy (POLL_MODE=always, no budget: every 5 s while playing, 30 s idle).",
        "",
        quota_week.table(week),
        "",
        quota_week.lockout_text(week[1]),
        "",
        "## Spotify economy (POLL_MODE=always)",
        "",
        "Command: `python -m bench.spotify_calls` (simulated clock, "
        f"{spotify_calls.HOURS} hours, token lifetime 1 h)",
        "",
        spotify_calls.table(calls),
        "",
        f"The tutorial pattern costs {tutorial['per_hour'] / playing['per_hour']:.0f} × "
        "nowplaying's calls at 10 viewers, and grows with every viewer; Spotify answers such",
        "traffic with 429s (PEERS.md: lag and freezes from rate limits).",
        "",
        f"Command: `python -m bench.live --window {live_result['window']:.0f}` (real processes:",
        "redis-server, the simulator, `python -m poller`, `python -m web`; the subscribers are",
        "the fan-out bench's client)",
        "",
        live.tables(live_result),
        "",
        "The skip row places one skip at each of evenly spread moments of the poll cycle,",
        "so its median is the expected delay of a change at a random moment: half an",
        "interval plus the path through Redis and the stream. The end-of-track row seeks",
        f"to {live.POLL_INTERVAL + 3:.0f} s before the end; the poller's extra poll just",
        "after the predicted end picks up the next item.",
        "",
    ]
    return "\n".join(lines)


async def _fanout(counts: list[int], runs: int) -> list[dict[str, Any]]:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    return await sse_fanout.measure(counts, runs)


def sections(text: str) -> dict[str, str]:
    """`## Title` -> the section's text (title line included), in order."""
    found: dict[str, str] = {}
    title = None
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            title = line[3:].strip()
            found[title] = ""
        if title is not None:
            found[title] += line
    return found


def kept_sections(path: Path, written: str) -> str:
    """Sections of the existing file this run did not produce (written by a benchmark run
    on its own: `python -m bench.og_png --write`, `bench.history`, ...): kept as they are,
    so `make bench` never drops a measurement it does not take itself."""
    if not path.is_file():
        return ""
    ours = sections(written)
    kept = [body for title, body in sections(path.read_text()).items() if title not in ours]
    return "".join("\n" + body.rstrip("\n") + "\n" for body in kept)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    parser.add_argument("--output", type=Path, default=OUT)
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    started = time.monotonic()
    print("spotify calls (simulated clock)", flush=True)
    calls = asyncio.run(spotify_calls.measure())
    print("a week against the daily quota (simulated clock)", flush=True)
    week = asyncio.run(quota_week.measure_week(3 if args.quick else 7))
    print("sse fan-out", flush=True)
    counts = [1000] if args.quick else [1000, 10_000]
    fanout = asyncio.run(_fanout(counts, runs))
    print("cached json (wrk)", flush=True)
    json_result = http_json.measure(runs, 2 if args.quick else 5)
    print("live stack: economy, freshness, footprint", flush=True)
    live_result = asyncio.run(
        live.measure(10 if args.quick else 30, 4 if args.quick else 10, [0, 100, 5000])
    )
    print("calls per source (simulated clock)", flush=True)
    sources = asyncio.run(source_calls.measure())
    print("request limits: with and without (wrk, fan-out)", flush=True)
    limits = limits_cost.measure(runs, 2 if args.quick else 5, 1000 if args.quick else 5000)
    print("push ingest: latency to the stream, throughput", flush=True)
    ingest = asyncio.run(ingest_latency.measure(50 if args.quick else 200))
    missing = proxies.available()
    changes = 5 if args.quick else 20
    print("sse through nginx and caddy (chromium)", flush=True)
    proxy_rows = [] if missing else asyncio.run(proxies.measure(changes))
    text = render(calls, fanout, json_result, live_result, time.monotonic() - started, runs, week)
    text += source_calls.section(sources)
    text += "\n" + limits_cost.section(limits)
    text += "\n" + ingest_latency.section(ingest)
    text += "\n" + (
        proxies.section(proxy_rows, changes)
        if not missing
        else f"## SSE through reverse proxies\n\nNot measured: {missing} not installed.\n"
    )
    text += kept_sections(args.output, text)
    args.output.write_text(text)
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
