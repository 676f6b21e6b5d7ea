"""Every refused value names its variable: the one table of bad configuration.

`load_settings` raises ConfigError naming the variable (the CLI prints it on one line and
exits 2: tests/test_config.py runs that end to end). One row a refusal: the environment
given, and the variable the refusal must name.
"""

from __future__ import annotations

import pytest

from shared.config import ConfigError, load_settings

SINGLE = [
    ("POLL_INTERVAL", "abc"),
    ("POLL_INTERVAL", "0.5"),
    ("POLL_INTERVAL", "nan"),
    ("IDLE_POLL_INTERVAL", "-1"),
    ("PORT", "70000"),
    ("PORT", "eighty"),
    ("REDIS_URL", "ftp://x"),
    ("SPOTIFY_API_URL", "gopher://api"),
    ("SSE_PING_INTERVAL", "soon"),
    ("CORS_ORIGINS", "example.com"),
    ("INGEST_TOKEN", "short"),
    ("INGEST_USER", "a/b"),
    ("INGEST_USER", "two words"),
    ("LANYARD_USER_ID", "someone"),
    ("LANYARD_API_URL", "ftp://lanyard.example"),
    ("HISTORY_LIMIT", "0"),
    ("HISTORY_LIMIT", "many"),
    ("PRIVACY_DELAY", "-1"),
    ("PRIVACY_DELAY", "soon"),
    ("PRIVACY_DELAY", "1e300"),
    ("PRIVACY_DELAY", "86401"),
    ("PRIVACY_HIDE", "genre:pop"),
    ("PRIVACY_HIDE", "artist:"),
    ("MAX_STREAMS", "0"),
    ("MAX_STREAMS", "1.5"),
    ("MAX_STREAMS_PER_CLIENT", "many"),
    ("HEADER_TIMEOUT", "0.1"),
    ("FORWARDED_ALLOW_IPS", "proxy.local"),
    ("MAX_CONNECTIONS_PER_CLIENT", "0"),
    ("MAX_CONNECTIONS_PER_CLIENT", "lots"),
    ("CLIENT_IPV6_PREFIX", "8"),
    ("CLIENT_IPV6_PREFIX", "129"),
    ("POLL_MODE", "sometimes"),
    ("SPOTIFY_DAILY_BUDGET", "9"),
    ("SPOTIFY_DAILY_BUDGET", "lots"),
    ("SPOTIFY_DAILY_BUDGET", "-5"),
]
# Refusals that name another variable than the one given (a pair missing its half).
PAIRED = [
    ({"LASTFM_API_KEY": "k"}, "LASTFM_USER"),
    ({"LASTFM_USER": "rj"}, "LASTFM_API_KEY"),
    ({"LISTENBRAINZ_TOKEN": "t"}, "LISTENBRAINZ_USER"),
    ({"SPOTIFY_CLIENT_ID": "id"}, "SPOTIFY_CLIENT_SECRET"),
    ({"SPOTIFY_CLIENT_SECRET": "s"}, "SPOTIFY_CLIENT_ID"),
    ({"POLL_INTERVAL": "60", "IDLE_POLL_INTERVAL": "30"}, "IDLE_POLL_INTERVAL"),
]


@pytest.mark.parametrize(("name", "value"), SINGLE)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert caught.value.variable == name
    assert str(caught.value).startswith(f"{name}: ")  # the one line the CLI prints


@pytest.mark.parametrize(("env", "named"), PAIRED)
def test_half_of_a_pair_names_the_missing_half(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == named


def test_a_long_poll_interval_alone_is_accepted_and_idle_follows_it() -> None:
    """Only POLL_INTERVAL below 1 is refused: the default idle interval stretches to it."""
    settings = load_settings({"POLL_INTERVAL": "60"})
    assert (settings.poll_interval, settings.idle_poll_interval) == (60.0, 60.0)
    assert load_settings({"POLL_INTERVAL": "10"}).idle_poll_interval == 30.0
