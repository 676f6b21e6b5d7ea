"""Settings: defaults, validation, `.env`, and exit status 2 with one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ConfigError, load_settings, read_environment


def test_defaults_follow_the_contract() -> None:
    s = load_settings({})
    assert (s.poll_interval, s.idle_poll_interval, s.sse_ping_interval) == (5.0, 30.0, 15.0)
    assert (s.host, s.port, s.redis_prefix, s.redis_url) == ("127.0.0.1", 8000, "nowplaying", None)
    assert s.redirect_uri == "http://127.0.0.1:8000/callback"
    assert s.accounts_url == "https://accounts.spotify.com"
    assert s.api_url == "https://api.spotify.com/v1"
    assert s.cors_origins == ("*",)
    assert not s.has_credentials


def test_env_file_values_are_read_and_quotes_removed(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POLL_INTERVAL=\"7\"\nREDIS_PREFIX='np'\nHOST=0.0.0.0\n")
    env = read_environment({}, tmp_path / ".env")
    s = load_settings(env)
    assert (s.poll_interval, s.redis_prefix, s.host) == (7.0, "np", "0.0.0.0")


def test_the_real_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("POLL_INTERVAL=7\n")
    assert (
        load_settings(read_environment({"POLL_INTERVAL": "9"}, tmp_path / ".env")).poll_interval
        == 9
    )


def test_secrets_are_not_in_the_settings_repr() -> None:
    s = load_settings(
        {
            "SPOTIFY_CLIENT_ID": "id",
            "SPOTIFY_CLIENT_SECRET": "s3cr3t-value",
            "ADMIN_TOKEN": "adm1n-value-long-enough-for-24",
        }
    )
    assert "s3cr3t-value" not in repr(s) and "adm1n-value-long-enough-for-24" not in repr(s)


@pytest.mark.parametrize(
    ("command", "name", "value"),
    [
        (["poller"], "POLL_INTERVAL", "abc"),
        (["web"], "REDIS_URL", "ftp://x"),
        (["run"], "PORT", "0"),
    ],
)
def test_the_command_exits_2_with_one_line_naming_the_variable(
    tmp_path: Path, command: list[str], name: str, value: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    env[name] = value
    done = subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]


def test_python_m_poller_without_credentials_stays_up_idle_and_says_not_connected(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "poller"],
        env=env | {"PYTHONPATH": os.getcwd()},
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = [process.stderr.readline() for _ in range(4)]
        assert any("Not connected" in line and "SPOTIFY_CLIENT_ID" in line for line in seen)
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0


def test_python_m_poller_with_an_invalid_value_still_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "poller"],
        env=env | {"PYTHONPATH": os.getcwd(), "POLL_INTERVAL": "soon"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and "POLL_INTERVAL" in done.stderr


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET"),
        ("SPOTIFY_CLIENT_SECRET", "SPOTIFY_CLIENT_ID"),
    ],
)
def test_half_a_spotify_app_names_the_missing_variable(given: str, missing: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({given: "value"})
    assert caught.value.variable == missing
    assert str(caught.value) == f"{missing}: is required when {given} is set"
