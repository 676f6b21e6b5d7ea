"""The package installs the way Python users install a service: a wheel built by
`python -m build`, installed with its locked dependencies into a fresh venv outside the
checkout, runs `nowplaying run` with its static files and the demo's art.

Built once per session (a copy of the tree, so the checkout gets no build/ or egg-info);
the venv installs from requirements/runtime.txt with hashes, as the Dockerfile does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("shared", "poller", "web", "nowplaying", "requirements")
SOURCE_FILES = ("pyproject.toml", "README.md")


@dataclass
class Installed:
    venv: Path
    wheel: Path
    outside: Path  # a working directory with no checkout in it

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def clean_env() -> dict[str, str]:
    """This interpreter's environment without anything pointing back at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    tree = base / "tree"
    tree.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, tree / name, ignore=ignore)
    for name in SOURCE_FILES:
        shutil.copy2(ROOT / name, tree / name)
    # The locked setuptools of this venv builds it, as `make` and the Dockerfile do.
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", "dist", cwd=tree)
    (wheel,) = (tree / "dist").glob("nowplaying-*.whl")
    venv = base / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=base)
    pip = (str(venv / "bin" / "python"), "-m", "pip", "install", "-q")
    run(*pip, "--require-hashes", "-r", str(tree / "requirements" / "runtime.txt"), cwd=base)
    run(*pip, "--no-deps", str(wheel), cwd=base)
    outside = base / "elsewhere"
    outside.mkdir()
    yield Installed(venv=venv, wheel=wheel, outside=outside)


def test_the_wheel_carries_the_static_files_and_no_tests(installed: Installed) -> None:
    names = subprocess.run(
        [installed.python, "-m", "zipfile", "-l", str(installed.wheel)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for needed in ("web/static/index.html", "web/static/widget.js", "web/static/overlay.html"):
        assert needed in names
    assert not re.search(r"^tests/", names, re.M)


def test_the_installed_dependencies_satisfy_the_wheels_own_requirements(
    installed: Installed,
) -> None:
    run(installed.python, "-m", "pip", "check", cwd=installed.outside)


def test_the_installed_package_runs_from_site_packages_not_the_checkout(
    installed: Installed,
) -> None:
    where = run(
        installed.python,
        "-c",
        "import web, shared, poller, nowplaying; print(web.__file__)",
        cwd=installed.outside,
    ).stdout
    assert "site-packages" in where and str(ROOT) not in where


def test_nowplaying_run_from_the_wheel_serves_the_demo_page_card_and_script(
    installed: Installed,
) -> None:
    port = free_port()
    env = {**clean_env(), "PYTHONUNBUFFERED": "1"}
    for name in [k for k in env if k.startswith(("SPOTIFY_", "LASTFM_", "LISTENBRAINZ_"))]:
        del env[name]
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "nowplaying"), "run", "--port", str(port)],
        cwd=installed.outside,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        document = wait_for_demo_song(base, process)
        assert document["demo"] is True
        with httpx.Client(base_url=base, timeout=5) as http:
            page = http.get("/")
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert 'src="/widget.js"' in page.text
            script = http.get("/widget.js")
            assert script.status_code == 200 and "javascript" in script.headers["content-type"]
            assert "EventSource" in script.text
            card = http.get("/embed.svg")
            assert card.status_code == 200 and card.headers["content-type"].startswith(
                "image/svg+xml"
            )
            # The demo's art, generated by the installed package, is inlined in the card.
            assert "data:image/png;base64," in card.text
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_demo_song(base: str, process: subprocess.Popen[str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"nowplaying run exited {process.returncode}:\n{output}")
        try:
            document = httpx.get(f"{base}/api/now-playing", timeout=2).json()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if document.get("song"):
                return dict(document)
            last = document
        time.sleep(0.3)
    pytest.fail(f"no demo song within 60 s; last answer: {last!r}")
