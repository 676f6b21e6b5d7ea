"""A compose project of a fresh clone, driven through the real CLI (v1 or v2)."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIM_CREDENTIALS = {
    "SPOTIFY_CLIENT_ID": "sim-client-id",
    "SPOTIFY_CLIENT_SECRET": "sim-client-secret",
    "SPOTIFY_REFRESH_TOKEN": "sim-refresh-token",
    "SPOTIFY_ACCOUNTS_URL": "http://simulator:8001",
    "SPOTIFY_API_URL": "http://simulator:8001/v1",
}


@dataclass
class Stack:
    command: list[str]
    folder: Path
    project: str
    env: dict[str, str]
    profiles: list[str] = field(default_factory=list)

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        flags = [f for p in self.profiles for f in ("--profile", p)]
        done = subprocess.run(
            [*self.command, "-p", self.project, *flags, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"compose {' '.join(args)}: {done.stderr[-3000:]}"
        return done

    def container_ids(self) -> list[str]:
        return self.compose("ps", "-q").stdout.split()

    def states(self) -> dict[str, dict[str, Any]]:
        """Service name -> {health, restarts, running} of each container of the project."""
        ids = self.container_ids()
        if not ids:
            return {}
        raw = subprocess.run(
            ["docker", "inspect", *ids], capture_output=True, text=True, timeout=60, check=True
        )
        found = {}
        for item in json.loads(raw.stdout):
            service = item["Config"]["Labels"]["com.docker.compose.service"]
            found[service] = {
                "health": (item["State"].get("Health") or {}).get("Status"),
                "restarts": item["RestartCount"],
                "running": item["State"]["Running"],
            }
        return found

    def wait_healthy(self, services: set[str], timeout: float = 180) -> dict[str, dict[str, Any]]:
        """The states once every listed service is healthy, or the last ones seen."""
        deadline = time.monotonic() + timeout
        states = self.states()
        while time.monotonic() < deadline:
            states = self.states()
            if set(states) >= services and all(s["health"] == "healthy" for s in states.values()):
                break
            time.sleep(2)
        return states

    def exec(self, service: str, *argv: str) -> str:
        return self.compose("exec", "-T", service, *argv, timeout=60).stdout

    def logs(self) -> str:
        return self.compose("logs", "--no-color", timeout=60).stdout[-6000:]


class EventStream:
    """`curl -N` on an SSE URL; events arrive in a queue as (id, data) pairs."""

    def __init__(self, argv: list[str]) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        event_id = ""
        for line in self.process.stdout:
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                self.events.put((event_id, json.loads(line[5:])))

    def next(self, timeout: float) -> tuple[str, dict[str, Any]]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
