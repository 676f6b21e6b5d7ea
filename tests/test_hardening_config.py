"""Configuration that guards a public instance: the admin token's length, secrets in URLs,
CORS origins, and the limits' variables."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ConfigError, load_settings
from shared.logs import RedactingFilter, mask_url_secrets
from shared.origins import normalize_origin


def test_an_admin_token_shorter_than_24_characters_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"ADMIN_TOKEN": "a" * 23})
    assert caught.value.variable == "ADMIN_TOKEN"


def test_an_admin_token_of_24_characters_is_accepted() -> None:
    assert load_settings({"ADMIN_TOKEN": "a" * 24}).admin_token == "a" * 24


def test_the_web_command_exits_2_on_a_short_admin_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "REDIS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "nowplaying.cli", "web"],
        env=env | {"ADMIN_TOKEN": "a"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ADMIN_TOKEN" in lines[0]


def test_a_config_error_masks_the_password_of_a_url() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"REDIS_URL": "rediss+x://:SuperSecretRedisPw@redis.example:6380/0"})
    assert "SuperSecretRedisPw" not in str(caught.value)
    assert "REDIS_URL" in str(caught.value) and "redis.example" in str(caught.value)


def test_urls_in_log_lines_lose_their_password_but_keep_the_user() -> None:
    masked = mask_url_secrets("lost redis://alice:pw123456@h:6379/0 and rediss://:pw2@h2")
    assert masked == "lost redis://alice:***@h:6379/0 and rediss://:***@h2"


def test_the_redis_password_is_a_secret_the_log_filter_removes() -> None:
    settings = load_settings({"REDIS_URL": "redis://:SuperSecretRedisPw@h:6379/0"})
    assert "SuperSecretRedisPw" in settings.secrets()
    record = logging.LogRecord("x", logging.INFO, "", 0, "pw %s", ("SuperSecretRedisPw",), None)
    RedactingFilter(settings.secrets()).filter(record)
    assert "SuperSecretRedisPw" not in record.getMessage()


@pytest.mark.parametrize(
    ("entry", "origin"),
    [
        ("https://Example.COM/", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80/", "http://example.com"),
        ("HTTPS://example.com:8443", "https://example.com:8443"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("*", "*"),
    ],
)
def test_cors_origins_are_normalized_to_what_browsers_send(entry: str, origin: str) -> None:
    assert normalize_origin(entry) == origin


@pytest.mark.parametrize(
    "entry",
    [
        "https://example.com/app",
        "https://example.com?x=1",
        "https://*.example.com",
        "example.com",
        "https://user:pw@example.com",
        "https://example.com:99999",
    ],
)
def test_cors_origins_that_can_never_match_are_refused(entry: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"CORS_ORIGINS": f"https://ok.example, {entry}"})
    assert caught.value.variable == "CORS_ORIGINS"


def test_cors_origins_keep_their_order_without_duplicates() -> None:
    s = load_settings({"CORS_ORIGINS": "https://a.example/, https://A.example, https://b.example"})
    assert s.cors_origins == ("https://a.example", "https://b.example")


def test_limits_have_defaults_a_small_vps_survives() -> None:
    s = load_settings({})
    assert (s.max_streams, s.max_streams_per_client, s.header_timeout) == (1000, 16, 10.0)
    assert s.forwarded_allow_ips == "127.0.0.1"
    assert (s.max_connections_per_client, s.client_ipv6_prefix) == (64, 56)


def test_forwarded_allow_ips_takes_addresses_networks_and_star() -> None:
    value = "10.0.0.1, 172.16.0.0/12,*"
    assert load_settings({"FORWARDED_ALLOW_IPS": value}).forwarded_allow_ips == value
