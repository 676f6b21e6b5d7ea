"""docker-compose.yml as Debian's docker-compose parses it; `nowplaying run` as a user starts it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, need

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    binary = need("docker-compose")
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", folder)
    shutil.copy(ROOT / ".env.example", folder / ".env")
    subprocess.run([binary, "config", "-q"], cwd=folder, check=True, timeout=60)
    done = subprocess.run(
        [binary, "--profile", "demo", "config"],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    import yaml  # PyYAML comes with uvicorn[standard]

    return yaml.safe_load(done.stdout)  # type: ignore[no-any-return]


def test_compose_has_redis_poller_and_web(compose: dict) -> None:  # type: ignore[type-arg]
    assert {"redis", "poller", "web"} <= set(compose["services"])


def test_redis_keeps_an_append_only_file_on_a_named_volume_and_publishes_no_port(
    compose: dict,
) -> None:  # type: ignore[type-arg]
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert "--appendonly" in redis["command"] and "ports" not in redis
    assert any(str(v).startswith("redis-data:/data") for v in redis["volumes"])
    assert "redis-data" in compose["volumes"]


def test_web_publishes_8000_with_a_healthcheck_on_healthz(compose: dict) -> None:  # type: ignore[type-arg]
    web = compose["services"]["web"]
    published = [
        str(p["published"]) if isinstance(p, dict) else str(p).split(":")[0] for p in web["ports"]
    ]
    assert published == ["8000"]
    assert "/healthz" in " ".join(web["healthcheck"]["test"])
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_poller_waits_for_redis_and_restarts(compose: dict) -> None:  # type: ignore[type-arg]
    poller = compose["services"]["poller"]
    assert poller["command"] == ["python", "-m", "poller"]
    assert poller["depends_on"]["redis"]["condition"] == "service_healthy"
    assert poller["restart"] == "unless-stopped"


def test_the_demo_profile_points_a_poller_at_the_simulator(compose: dict) -> None:  # type: ignore[type-arg]
    demo = compose["services"]["poller-demo"]["environment"]
    assert demo["SPOTIFY_API_URL"] == "http://simulator:8001/v1"


def test_the_dockerfile_installs_the_project_like_the_readme_and_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "pip install ." in text and "USER nowplaying" in text and "HEALTHCHECK" in text


def demo_song(port: int, process: subprocess.Popen[bytes], deadline: float) -> Any:
    """The document once it has a song, or the last one seen by `deadline`."""
    doc = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            doc = httpx.get(f"http://127.0.0.1:{port}/api/now-playing", timeout=2).json()
            if doc["song"]:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return doc


def test_nowplaying_run_answers_with_a_demo_song_within_60_seconds(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "nowplaying.cli", "run", "--port", str(port)],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        doc = demo_song(port, process, time.monotonic() + 60)
        assert doc is not None and doc["demo"] is True and doc["song"]["name"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in out.decode()
    json.dumps(doc)


def test_make_run_from_a_fresh_clone_serves_a_demo_song_within_60_seconds(
    tmp_path: Path,
) -> None:
    """What the README promises a newcomer: clone, `make run`, a live card."""
    git, make = need("git"), need("make")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", str(ROOT), str(clone)], check=True, timeout=60)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPOTIFY_", "REDIS_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PORT"] = str(port)
    log = (tmp_path / "make-run.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [make, "run"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        doc = demo_song(port, process, started + 60)
        output = (tmp_path / "make-run.log").read_text(errors="replace")
        assert doc is not None and doc["song"], output[-3000:]
        assert doc["demo"] is True and time.monotonic() - started < 60
        assert (clone / ".venv" / "bin" / "nowplaying").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        log.close()
