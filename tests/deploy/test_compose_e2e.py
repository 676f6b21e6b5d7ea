"""docker-compose.yml run for real from a fresh clone, as the README tells a user to run it,
with Compose v2 and v1, on a real engine (scripts/compose-real.sh: dockerd from Debian, base
images built locally from Debian packages because Docker Hub is out of reach here).

Each class brings one stack up once and checks it step by step; the last step is `down -v`."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.conftest import IN_CI, free_port, need
from tests.deploy.stack import SIM_CREDENTIALS, EventStream, Stack
from tests.test_deploy import clean_env, compose_command

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "scripts" / "compose-real.sh"
DOMAIN = "np.test"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this checkout's HEAD and nowplaying:local built from it."""
    need("docker")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        if IN_CI:
            pytest.fail("no container engine answers: run scripts/compose-real.sh setup")
        pytest.skip("no container engine answers")
    folder = tmp_path_factory.mktemp("clone") / "nowplaying"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True, timeout=120)
    subprocess.run([str(HELPER), "build", str(folder)], check=True, timeout=900)
    return folder


def start(
    version: str, clone: Path, services: list[str], profiles: list[str], env: dict[str, str]
) -> Stack:
    stack = Stack(
        command=compose_command(version),
        folder=clone,
        project=f"npe2e{version}{uuid.uuid4().hex[:6]}",
        env=clean_env() | {"POLL_INTERVAL": "1"} | env,
        profiles=profiles,
    )
    stack.compose("up", "-d", *services)
    return stack


def stop(stack: Stack) -> None:
    """Whatever a failed test left: containers and volumes of the project go."""
    subprocess.run(
        [*stack.command, "-p", stack.project, "down", "-v", "--remove-orphans"],
        cwd=stack.folder,
        env=stack.env,
        capture_output=True,
        timeout=300,
    )


def leftovers(project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
        out = subprocess.run(
            ["docker", *kind, "-q", "--filter", label], capture_output=True, text=True, timeout=60
        )
        found += out.stdout.split()
    return found


def document(base: str, **kwargs: Any) -> Any:
    return httpx.get(f"{base}/api/now-playing", timeout=5, **kwargs).json()


def wait_for_song(base: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    doc = None
    while time.monotonic() < deadline:
        try:
            doc = document(base)
            if doc["song"]:
                return doc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    return doc


def next_version(stream: EventStream, above: int, timeout: float) -> int:
    """The id of the first event above version `above` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        event_id, _ = stream.next(max(0.1, deadline - time.monotonic()))
        if int(event_id) > above:
            return int(event_id)


# -- the demo: `docker compose up -d demo` ---------------------------------------------------


@pytest.fixture(scope="class", params=["v2", "v1"])
def demo(request: pytest.FixtureRequest, clone: Path) -> Iterator[Stack]:
    stack = start(request.param, clone, ["demo"], [], {})
    yield stack
    stop(stack)


DEMO = "http://127.0.0.1:8001"


class TestDemo:
    def test_redis_and_the_demo_turn_healthy_with_no_restart(self, demo: Stack) -> None:
        states = demo.wait_healthy({"redis", "demo"})
        assert set(states) == {"redis", "demo"}, demo.logs()
        assert all(s["health"] == "healthy" and s["restarts"] == 0 for s in states.values()), (
            states,
            demo.logs(),
        )

    def test_the_demo_serves_a_simulated_song(self, demo: Stack) -> None:
        doc = wait_for_song(DEMO)
        assert doc["demo"] is True and doc["song"]["name"], demo.logs()

    def test_the_demo_album_art_loads_from_the_host(self, demo: Stack) -> None:
        url = urljoin(DEMO + "/", wait_for_song(DEMO)["song"]["albumImageUrl"])  # same origin
        assert url.startswith(DEMO + "/")
        art = httpx.get(url, timeout=5)
        assert art.status_code == 200 and art.headers["content-type"] == "image/png"

    def test_a_change_reaches_an_open_event_stream(self, demo: Stack) -> None:
        """The demo's simulator has no public route, so the change is made in Redis:
        the stored document is deleted and the poller, polling for the open stream, writes
        it again above its last version, through Redis pub/sub to the stream."""
        stream = EventStream([need("curl"), "-sN", f"{DEMO}/api/stream"])
        try:
            first, _ = stream.next(10)
            demo.exec("redis", "redis-cli", "-n", "1", "DEL", "nowplaying-demo:current")
            assert next_version(stream, int(first), 15) > int(first)
        finally:
            stream.close()

    def test_the_demo_writes_nothing_under_the_real_prefix(self, demo: Stack) -> None:
        keys = demo.exec("redis", "redis-cli", "-n", "0", "--scan", "--pattern", "nowplaying:*")
        assert keys.split() == []

    def test_down_removes_containers_volumes_and_network(self, demo: Stack) -> None:
        demo.compose("down", "-v")
        assert leftovers(demo.project) == []


# -- a real deployment (pointed at the simulator) behind HTTPS, the demo beside it ----------


@pytest.fixture(scope="class", params=["v2", "v1"])
def real(request: pytest.FixtureRequest, clone: Path) -> Iterator[tuple[Stack, dict[str, int]]]:
    ports = {"web": free_port(), "http": free_port(), "https": free_port()}
    env = SIM_CREDENTIALS | {
        "WEB_PUBLISH": f"127.0.0.1:{ports['web']}",
        "HTTP_PUBLISH": f"127.0.0.1:{ports['http']}",
        "HTTPS_PUBLISH": f"127.0.0.1:{ports['https']}",
        "DOMAIN": DOMAIN,
        "CADDY_GLOBAL_OPTIONS": "local_certs",
    }
    stack = start(request.param, clone, [], ["simulator", "https", "demo"], env)
    yield stack, ports
    stop(stack)


ALL = {"redis", "poller", "web", "simulator", "caddy", "demo"}


def skip_song(stack: Stack) -> None:
    """Next track on the simulated player (its port is not published: from inside)."""
    stack.exec(
        "simulator",
        "python",
        "-c",
        "import urllib.request as u; u.urlopen(u.Request("
        "'http://127.0.0.1:8001/_sim/skip', method='POST'), timeout=5)",
    )


def https_curl(stack: Stack, ports: dict[str, int], tmp: Path) -> list[str]:
    """curl trusting only Caddy's own CA (tls internal), resolving DOMAIN to loopback."""
    root = stack.exec("caddy", "cat", "/data/caddy/pki/authorities/local/root.crt")
    ca = tmp / "caddy-root.crt"
    ca.write_text(root)
    return [
        need("curl"),
        "-s",
        "--cacert",
        str(ca),
        "--resolve",
        f"{DOMAIN}:{ports['https']}:127.0.0.1",
    ]


class TestRealBehindHttps:
    def test_every_service_turns_healthy_with_no_restart(
        self, real: tuple[Stack, dict[str, int]]
    ) -> None:
        stack, _ = real
        states = stack.wait_healthy(ALL)
        assert set(states) == ALL, stack.logs()
        assert all(s["health"] == "healthy" and s["restarts"] == 0 for s in states.values()), (
            states,
            stack.logs(),
        )

    def test_the_web_serves_the_pollers_song_on_loopback(
        self, real: tuple[Stack, dict[str, int]]
    ) -> None:
        stack, ports = real
        doc = wait_for_song(f"http://127.0.0.1:{ports['web']}")
        assert doc["demo"] is False and doc["song"]["name"], stack.logs()

    def test_the_demo_beside_it_stays_apart(self, real: tuple[Stack, dict[str, int]]) -> None:
        stack, ports = real
        assert wait_for_song(DEMO)["demo"] is True
        assert document(f"http://127.0.0.1:{ports['web']}")["demo"] is False
        demo_keys = stack.exec("redis", "redis-cli", "-n", "1", "--scan").split()
        real_keys = stack.exec("redis", "redis-cli", "-n", "0", "--scan").split()
        assert demo_keys and all(k.startswith("nowplaying-demo:") for k in demo_keys)
        assert real_keys and all(k.startswith("nowplaying:") for k in real_keys)

    def test_caddy_serves_the_document_over_https_with_its_certificate(
        self, real: tuple[Stack, dict[str, int]], tmp_path: Path
    ) -> None:
        stack, ports = real
        curl = https_curl(stack, ports, tmp_path)
        out = subprocess.run(
            [*curl, "-w", "\n%{http_code}", f"https://{DOMAIN}:{ports['https']}/api/now-playing"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert out.stdout.rsplit("\n", 1)[1] == "200", (out.stderr, stack.logs())

    def test_only_caddy_is_trusted_for_x_forwarded_for(
        self, real: tuple[Stack, dict[str, int]], tmp_path: Path
    ) -> None:
        """Through Caddy the header is trusted (no warning); sent straight to the
        published port it is ignored and the web app names the untrusted peer: the default
        network's gateway, where the README says a host proxy connects from."""
        stack, ports = real
        curl = https_curl(stack, ports, tmp_path)
        spoof = ["-H", "X-Forwarded-For: 203.0.113.9"]
        for _ in range(3):
            subprocess.run(
                [*curl, *spoof, f"https://{DOMAIN}:{ports['https']}/healthz"],
                capture_output=True,
                timeout=30,
                check=True,
            )
        assert "X-Forwarded-For from" not in stack.compose("logs", "--no-color", "web").stdout
        direct = f"http://127.0.0.1:{ports['web']}/healthz"
        assert httpx.get(direct, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200
        deadline = time.monotonic() + 10
        lines: list[str] = []
        while not lines and time.monotonic() < deadline:
            logs = stack.compose("logs", "--no-color", "web").stdout
            lines = [line for line in logs.splitlines() if "X-Forwarded-For from" in line]
            time.sleep(0.5)
        assert lines, stack.logs()
        gateway = subprocess.run(
            [
                *("docker", "network", "inspect", f"{stack.project}_default"),
                *("--format", "{{(index .IPAM.Config 0).Gateway}}"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        assert f"X-Forwarded-For from {gateway}," in lines[0], lines
        assert "203.0.113.9" not in "\n".join(lines)

    def test_a_change_reaches_an_event_stream_through_caddy(
        self, real: tuple[Stack, dict[str, int]], tmp_path: Path
    ) -> None:
        stack, ports = real
        curl = https_curl(stack, ports, tmp_path)
        stream = EventStream(
            [
                *curl,
                "-N",
                "-H",
                "Accept-Encoding: gzip",
                f"https://{DOMAIN}:{ports['https']}/api/stream",
            ]
        )
        try:
            first, _ = stream.next(10)
            skip_song(stack)
            assert next_version(stream, int(first), 15) > int(first)
        finally:
            stream.close()

    def test_a_redis_restart_keeps_the_document_and_changes_flowing(
        self, real: tuple[Stack, dict[str, int]]
    ) -> None:
        stack, ports = real
        base = f"http://127.0.0.1:{ports['web']}"
        before = document(base)["version"]
        stack.compose("restart", "redis")
        states = stack.wait_healthy(ALL)
        assert all(s["restarts"] == 0 for s in states.values()), states
        stream = EventStream([need("curl"), "-sN", f"{base}/api/stream"])
        try:
            first, doc = stream.next(20)
            assert int(first) >= before and doc["song"]
            skip_song(stack)
            assert next_version(stream, int(first), 30) > int(first), stack.logs()
        finally:
            stream.close()

    def test_down_removes_containers_volumes_and_network(
        self, real: tuple[Stack, dict[str, int]]
    ) -> None:
        stack, _ = real
        stack.compose("down", "-v")
        assert leftovers(stack.project) == []


# -- a fresh clone, nothing configured: `docker compose up -d` -------------------------------


@pytest.fixture(scope="class", params=["v2", "v1"])
def unconfigured(
    request: pytest.FixtureRequest, clone: Path
) -> Iterator[tuple[Stack, int, dict[str, Any]]]:
    """The stack of a fresh clone with nothing configured, and its states once healthy."""
    port = free_port()
    stack = start(request.param, clone, [], [], {"WEB_PUBLISH": f"127.0.0.1:{port}"})
    yield stack, port, stack.wait_healthy({"redis", "poller", "web"}, timeout=90)
    stop(stack)


# The contract: `nowplaying poller` with no provider configured stays up and idle (no crash
# loop), its heartbeat and /readyz saying "not connected" and what to do.
class TestUnconfigured:
    def test_the_poller_stays_up_healthy_with_no_restart(
        self, unconfigured: tuple[Stack, int, dict[str, Any]]
    ) -> None:
        stack, _, states = unconfigured
        assert set(states) == {"redis", "poller", "web"}, stack.logs()
        assert all(s["health"] == "healthy" and s["restarts"] == 0 for s in states.values()), (
            states,
            stack.logs(),
        )

    def test_readyz_says_not_connected(
        self, unconfigured: tuple[Stack, int, dict[str, Any]]
    ) -> None:
        _, port, _ = unconfigured
        body = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).text
        assert "not connected" in body.lower(), body
