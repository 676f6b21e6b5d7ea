"""docker-compose.yml as Compose v1 and v2 parse it from a fresh clone; the poller's health
check against a real Redis; `nowplaying run` and `make run` as a user starts them.

The stack itself runs for real in tests/deploy/ (`make test-e2e`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # PyYAML comes with uvicorn[standard]

from shared.config import load_settings
from shared.store import Store, connect
from tests.conftest import IN_CI, RedisServer, free_port, need, sim_settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("poller", "web", "demo", "simulator")
# Variables only the compose file reads (published addresses, Caddy), not the app.
COMPOSE_ONLY = {"WEB_PUBLISH", "DOMAIN", "CADDY_GLOBAL_OPTIONS", "HTTP_PUBLISH", "HTTPS_PUBLISH"}
COMPOSE_FORMS = {"v1": ["docker-compose"], "v2": ["docker", "compose"]}


def compose_command(version: str) -> list[str]:
    """The compose CLI of that version; in CI a missing one fails (need)."""
    command = COMPOSE_FORMS[version]
    need(command[0])
    if version == "v2":
        probe = subprocess.run([*command, "version"], capture_output=True, timeout=30)
        if probe.returncode != 0:
            if IN_CI:
                pytest.fail("Compose v2 (`docker compose`) is required in CI")
            pytest.skip("Compose v2 (`docker compose`) not installed")
    return command


def fresh_clone_files(folder: Path) -> None:
    """What a clone holds that compose reads: the compose file and the Caddyfile, no .env."""
    shutil.copy(ROOT / "docker-compose.yml", folder)
    (folder / "deploy").mkdir()
    shutil.copy(ROOT / "deploy" / "Caddyfile", folder / "deploy")


def compose_config(command: list[str], folder: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [*command, "--profile", "demo", "--profile", "https", "--profile", "simulator", "config"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)  # type: ignore[no-any-return]


def clean_env() -> dict[str, str]:
    """The environment without any variable the compose file reads."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPOTIFY_", "REDIS_", "LASTFM_", "LISTENBRAINZ_", "COMPOSE_"))
        and k not in COMPOSE_ONLY
    }


@pytest.fixture(scope="module", params=["v1", "v2"])
def compose(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`config` of a fresh clone (no .env) with every profile on, as v1 or v2 prints it."""
    command = compose_command(request.param)
    folder = tmp_path_factory.mktemp(f"compose-{request.param}")
    fresh_clone_files(folder)
    return compose_config(command, folder, clean_env())


def services_with_env_file(version: str, folder: Path, env_file: str) -> Any:
    """The services as `config` prints them for a clone whose .env holds `env_file`."""
    command = compose_command(version)
    fresh_clone_files(folder)
    (folder / ".env").write_text(env_file)
    return compose_config(command, folder, clean_env())["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in (service.get("environment") or {}).items()}


def ports_of(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host address, published, target) whether printed short (v1) or long (v2)."""
    found = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            host = port.get("host_ip") or "0.0.0.0"
            found.append((host, str(port.get("published")), str(port["target"])))
        else:
            parts = str(port).split("/")[0].split(":")
            host = parts[0] if len(parts) == 3 else "0.0.0.0"
            found.append((host, parts[-2], parts[-1]))
    return found


def volumes_of(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) from v1's short `src:dst:mode` or v2's long form."""
    found = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            found.append((str(volume.get("source")), str(volume["target"])))
        else:
            source, target = str(volume).split(":")[:2]
            found.append((source, target))
    return found


def table_variables(markdown: str, heading: str) -> set[str]:
    """Variable names in the first column of the table under `heading`."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


class Recording(dict[str, str]):
    """An empty environment that remembers every name asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def test_every_variable_the_configuration_reads_reaches_the_poller_and_the_web(
    compose: Any,
) -> None:
    recording = Recording()
    load_settings(recording)
    for name in ("poller", "web"):
        missing = recording.asked - set(env_of(compose["services"][name]))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_every_variable_of_the_readme_table_reaches_the_poller_and_the_web(compose: Any) -> None:
    documented = table_variables((ROOT / "README.md").read_text(), "## Configuration")
    assert {"SPOTIFY_CLIENT_ID", "REDIS_PREFIX"} <= documented
    for name in ("poller", "web"):
        missing = documented - set(env_of(compose["services"][name]))
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_every_variable_the_compose_file_passes_is_documented_in_the_readme(compose: Any) -> None:
    """The README's tables are the users' contract: the service variables under
    Configuration, the compose-only ones under Deploy. Nothing reaches a container that
    neither documents (the reverse, every documented variable reaching it, is tested above)."""
    readme = (ROOT / "README.md").read_text()
    documented = table_variables(readme, "## Configuration")
    compose_only = table_variables(readme, "## Deploy with docker compose")
    passed = set(env_of(compose["services"]["web"])) | set(env_of(compose["services"]["poller"]))
    assert passed <= documented | compose_only, f"undocumented {sorted(passed - documented)}"


def test_a_fresh_clone_needs_no_env_file_and_passes_empty_defaults(compose: Any) -> None:
    poller = env_of(compose["services"]["poller"])
    assert poller["SPOTIFY_CLIENT_ID"] == "" and poller["POLL_INTERVAL"] == ""


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_stack_uses_its_own_redis_and_listen_address_with_env_example_as_env(
    version: str, tmp_path: Path
) -> None:
    """.env.example's REDIS_URL (localhost) and HOST are the host's, not the containers'."""
    services = services_with_env_file(version, tmp_path, (ROOT / ".env.example").read_text())
    for name in ("poller", "web"):
        env = env_of(services[name])
        assert (env["REDIS_URL"], env["HOST"], env["PORT"]) == (
            "redis://redis:6379/0",
            "0.0.0.0",
            "8000",
        )


def test_one_image_built_once_for_every_app_service(compose: Any) -> None:
    services = compose["services"]
    assert {services[name]["image"] for name in APP_SERVICES} == {"nowplaying:local"}


def test_exactly_one_service_runs_the_standalone_poller(compose: Any) -> None:
    commands = [" ".join(s.get("command") or []) for s in compose["services"].values()]
    assert [c for c in commands if "-m poller" in c or "nowplaying poller" in c] == [
        "python -m poller"
    ]


def test_the_demo_uses_another_redis_database_and_prefix_than_the_real_deployment(
    compose: Any,
) -> None:
    real, demo = env_of(compose["services"]["poller"]), env_of(compose["services"]["demo"])
    assert demo["REDIS_URL"].rsplit("/", 1)[1] != real["REDIS_URL"].rsplit("/", 1)[1]
    assert demo["REDIS_PREFIX"] not in ("", "nowplaying")


def test_every_service_has_a_health_check_of_its_own(compose: Any) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name


def test_no_service_but_the_web_ones_probes_the_web_port(compose: Any) -> None:
    for name in ("poller", "simulator", "redis", "caddy"):
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        assert ":8000" not in test, name


def test_the_web_trusts_forwarded_for_from_loopback_and_caddys_fixed_address_only(
    compose: Any,
) -> None:
    """Behind Caddy every viewer would otherwise count as Caddy's one address; trusting
    whole private ranges let any LAN client or container pick its own address."""
    import ipaddress

    trusted = env_of(compose["services"]["web"])["FORWARDED_ALLOW_IPS"].split(",")
    caddy = compose["services"]["caddy"]["networks"]["edge"]["ipv4_address"]
    caddy = caddy.split(":-")[-1].rstrip("}")  # ${CADDY_ADDRESS:-a.b.c.d}
    assert trusted == ["127.0.0.1", caddy]
    ipam = compose["networks"]["edge"]["ipam"]["config"][0]
    subnet = ipaddress.ip_network(ipam["subnet"].split(":-")[-1].rstrip("}"))
    dynamic = ipaddress.ip_network(ipam["ip_range"].split(":-")[-1].rstrip("}"))
    # Caddy's address is in the subnet but never handed out to another container first.
    assert ipaddress.ip_address(caddy) in subnet and dynamic.subnet_of(subnet)  # type: ignore[arg-type]
    assert ipaddress.ip_address(caddy) not in dynamic
    assert set(compose["services"]["web"]["networks"]) == {"default", "edge"}
    assert set(compose["services"]["caddy"]["networks"]) == {"edge"}


def test_the_image_bakes_in_no_health_check_a_service_could_inherit() -> None:
    assert "HEALTHCHECK" not in (ROOT / "Dockerfile").read_text()


def test_the_poller_health_check_reads_its_heartbeat(compose: Any) -> None:
    test = " ".join(compose["services"]["poller"]["healthcheck"]["test"])
    assert ":poller:heartbeat" in test


def test_the_web_is_published_on_loopback_port_8000_only(compose: Any) -> None:
    assert ports_of(compose["services"]["web"]) == [("127.0.0.1", "8000", "8000")]


def test_redis_and_the_simulator_publish_no_port(compose: Any) -> None:
    assert not compose["services"]["redis"].get("ports")
    assert not compose["services"]["simulator"].get("ports")


def test_the_demo_is_published_on_loopback_with_the_same_port_inside(compose: Any) -> None:
    assert ports_of(compose["services"]["demo"]) == [("127.0.0.1", "8001", "8001")]


def test_caddy_alone_publishes_http_and_https(compose: Any) -> None:
    published = {(p[1], p[2]) for p in ports_of(compose["services"]["caddy"])}
    assert published == {("80", "80"), ("443", "443")}


def test_the_https_profile_waits_for_a_healthy_web(compose: Any) -> None:
    caddy = compose["services"]["caddy"]
    assert caddy["profiles"] == ["https"]
    assert caddy["depends_on"]["web"]["condition"] == "service_healthy"


def test_redis_keeps_an_append_only_file_on_a_named_volume(compose: Any) -> None:
    redis_service = compose["services"]["redis"]
    assert "--appendonly" in redis_service["command"]
    assert ("redis-data", "/data") in volumes_of(redis_service)
    assert "redis-data" in compose["volumes"]


def test_the_app_services_wait_for_a_healthy_redis(compose: Any) -> None:
    for name in ("poller", "web", "demo"):
        depends = compose["services"][name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy", name


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_demo_passes_on_no_provider_credentials_from_the_env_file(
    version: str, tmp_path: Path
) -> None:
    env_file = "SPOTIFY_CLIENT_ID=real-id\nSPOTIFY_REFRESH_TOKEN=real-token\nLASTFM_USER=me\n"
    services = services_with_env_file(version, tmp_path, env_file)
    assert env_of(services["poller"])["SPOTIFY_CLIENT_ID"] == "real-id"
    demo = env_of(services["demo"])
    assert demo["SPOTIFY_CLIENT_ID"] == demo["SPOTIFY_REFRESH_TOKEN"] == demo["LASTFM_USER"] == ""


PROVIDER_PREFIXES = ("SPOTIFY_", "LASTFM_", "LISTENBRAINZ_", "LANYARD_", "INGEST_")


def provider_variables() -> list[str]:
    """Every provider variable the compose file passes on (its x-env block)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return sorted(k for k in compose["x-env"] if k.startswith(PROVIDER_PREFIXES))


@pytest.mark.parametrize("where", ["env file", "shell"])
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_demo_takes_no_provider_variable_set_for_the_real_deployment(
    version: str, where: str, tmp_path: Path
) -> None:
    """The contract's demo gets none of them: an API URL, a redirect URI or a budget meant
    for the real deployment (a bad one exits 2) is not the demo's either."""
    names = provider_variables()
    values = {name: f"real-{name.lower()}" for name in names}
    command = compose_command(version)
    fresh_clone_files(tmp_path)
    lines = "".join(f"{k}={v}\n" for k, v in values.items())
    (tmp_path / ".env").write_text(lines if where == "env file" else "")
    env = clean_env() | (values if where == "shell" else {})
    services = compose_config(command, tmp_path, env)["services"]
    assert env_of(services["poller"])["SPOTIFY_API_URL"] == values["SPOTIFY_API_URL"]
    demo = env_of(services["demo"])
    assert {k: v for k, v in demo.items() if k.startswith(PROVIDER_PREFIXES) and v} == {}


def test_the_caddyfile_flushes_sse_at_once_and_does_not_compress() -> None:
    """Caddy 2.6's `encode` never flushes a compressed first SSE write (caddy#6293)."""
    text = (ROOT / "deploy" / "Caddyfile").read_text()
    directives = [line.split("#")[0].strip() for line in text.splitlines()]
    assert "flush_interval -1" in directives
    assert not [d for d in directives if d.startswith("encode")]


def test_the_build_context_leaves_out_env_files_and_virtualenvs() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git"} <= set(ignored)


# -- the poller's health check, run as compose runs it, against a real Redis ----------------


@pytest.fixture
def poller_check() -> list[str]:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    test: list[str] = raw["services"]["poller"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"]
    return [sys.executable, *test[2:]]


@pytest.fixture
def heartbeat_redis(redis_server: RedisServer) -> tuple[str, str]:
    """A real Redis URL and a prefix of this test's own."""
    return redis_server.url, f"t{uuid.uuid4().hex[:8]}"


def run_check(check: list[str], url: str, prefix: str) -> int:
    env = clean_env() | {"REDIS_URL": url, "REDIS_PREFIX": prefix}
    return subprocess.run(check, env=env, timeout=30, capture_output=True).returncode


async def beat(url: str, prefix: str, age_s: float) -> None:
    """One keepalive of the real poller, its clock `age_s` in the past."""
    from poller.service import Poller
    from shared.spotify import make_http_client

    store = Store(connect(url), prefix)
    http = make_http_client(1.0)
    try:
        poller = Poller(
            sim_settings("http://127.0.0.1:9", redis_prefix=prefix),
            store,
            http,
            clock=lambda: time.time() - age_s,
        )
        await poller.keepalive()
    finally:
        await http.aclose()
        await store.close()


async def test_the_poller_check_passes_on_a_fresh_heartbeat(
    poller_check: list[str], heartbeat_redis: tuple[str, str]
) -> None:
    await beat(*heartbeat_redis, age_s=0)
    assert run_check(poller_check, *heartbeat_redis) == 0


async def test_the_poller_check_fails_on_a_heartbeat_two_minutes_old(
    poller_check: list[str], heartbeat_redis: tuple[str, str]
) -> None:
    await beat(*heartbeat_redis, age_s=120)
    assert run_check(poller_check, *heartbeat_redis) == 1


def test_the_poller_check_fails_without_a_heartbeat(
    poller_check: list[str], heartbeat_redis: tuple[str, str]
) -> None:
    assert run_check(poller_check, *heartbeat_redis) == 1


# -- `nowplaying run` and `make run` as a user starts them -----------------------------------


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
