"""Processes the benchmarks measure: redis-server, the web app, the poller, a baseline.

Each runs as its own OS process, as in production, so that its RSS is its own and the
load generator's CPU is not counted in its event loop.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# A crowd of thousands of streams from one load generator: above the web's stream caps
# (MAX_STREAMS, MAX_STREAMS_PER_CLIENT), which are sized for real clients.
CROWD_LIMITS = {"MAX_STREAMS": "20000", "MAX_STREAMS_PER_CLIENT": "20000"}


def raise_fd_limit() -> None:
    """10,000 sockets need more than the usual 1,024 descriptors (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_kb(pid: int) -> int:
    """Resident set size of one process, from /proc (kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def wait_http(url: str, timeout_s: float = 20.0, proc: Proc | None = None) -> float:
    """Seconds until `url` answers 200; the process's log in the error if it never does."""
    start = time.monotonic()
    deadline = start + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.process.poll() is not None:
            raise RuntimeError(f"{url}: {proc.name} exited:\n{proc.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.monotonic() - start
        time.sleep(0.02)
    log = f":\n{proc.log()}" if proc is not None else ""
    raise TimeoutError(f"{url} did not answer within {timeout_s} s{log}")


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kb(self) -> int:
        return rss_kb(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def spawn(
    name: str, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Proc:
    """Start a child with its output in a temporary log file (read back by the caller).
    `cwd`: another checkout (e.g. an older commit) whose packages the child imports first."""
    log_path = Path(tempfile.mkstemp(prefix=f"np-bench-{name}-", suffix=".log")[1])
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            list(argv), cwd=cwd or ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    return Proc(name, process, log_path)


def python(
    name: str, args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Proc:
    return spawn(name, [sys.executable, *args], env, cwd)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("bench: redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    directory = tempfile.mkdtemp(prefix="np-bench-redis-")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory]
    proc = spawn("redis", [binary, *args, "--maxclients", "20000"])
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start:\n" + proc.log())
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.stop()
        shutil.rmtree(directory, ignore_errors=True)
