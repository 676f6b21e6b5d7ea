"""Settings from the environment and `.env`, validated once at start-up.

A bad value raises ConfigError naming the variable; the CLI turns it into exit status 2
with one line on stderr, so a typo never becomes a crash loop with a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/callback"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_API_URL = "https://api.spotify.com/v1"


class ConfigError(Exception):
    """One invalid variable; str() is the single line shown to the user."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    api_url: str = DEFAULT_API_URL
    redis_url: str | None = None
    redis_prefix: str = "nowplaying"
    poll_interval: float = 5.0
    idle_poll_interval: float = 30.0
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: tuple[str, ...] = ("*",)
    sse_ping_interval: float = 15.0
    admin_token: str | None = field(default=None, repr=False)
    poll_mode: str = "viewers"
    daily_budget: int = 1000

    @property
    def has_credentials(self) -> bool:
        """Whether a real Spotify account is configured (else demo mode)."""
        return bool(self.client_id and self.client_secret and self.refresh_token) or bool(
            self.access_token
        )

    @property
    def stale_after_s(self) -> float:
        """The contract's freshness window: 3 poll intervals, at least 15 s."""
        return max(3 * self.poll_interval, 15.0)

    def secrets(self) -> list[str]:
        """Values that must never reach a response or a log line."""
        values = [self.client_secret, self.refresh_token, self.access_token, self.admin_token]
        return [v for v in values if v]


def read_environment(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = None
) -> dict[str, str]:
    """The real environment over `.env` (the real environment wins)."""
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    merged: dict[str, str] = {}
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = _text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number of seconds, got {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(name, f"must be a finite number, got {raw!r}")
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum:g}, got {raw!r}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(name, f"must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


def _url(env: Mapping[str, str], name: str, default: str | None, schemes: set[str]) -> str | None:
    raw = _text(env, name)
    if raw is None:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigError(name, f"unknown URL scheme in {raw!r} (expected one of: {allowed})")
    if parts.scheme != "unix" and not parts.netloc:
        raise ConfigError(name, f"URL has no host: {raw!r}")
    return raw.rstrip("/") if parts.scheme in ("http", "https") else raw


POLL_MODES = ("viewers", "always")
MIN_DAILY_BUDGET = 10


def _poll_mode(env: Mapping[str, str]) -> str:
    raw = (_text(env, "POLL_MODE") or "viewers").lower()
    if raw not in POLL_MODES:
        raise ConfigError("POLL_MODE", f"must be 'viewers' or 'always', got {raw!r}")
    return raw


def _budget(env: Mapping[str, str]) -> int:
    raw = _text(env, "SPOTIFY_DAILY_BUDGET")
    if raw is None:
        return 1000
    if not raw.isascii() or not raw.isdigit() or int(raw) < MIN_DAILY_BUDGET:
        problem = f"must be a whole number of calls, at least {MIN_DAILY_BUDGET}, got {raw!r}"
        raise ConfigError("SPOTIFY_DAILY_BUDGET", problem)
    return int(raw)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from a mapping (default: the real environment merged over `.env`)."""
    e = read_environment() if env is None else env
    poll = _number(e, "POLL_INTERVAL", 5.0, 1.0)
    idle = _number(e, "IDLE_POLL_INTERVAL", 30.0, 1.0)
    if idle < poll:
        problem = f"must not be shorter than POLL_INTERVAL ({poll:g})"
        raise ConfigError("IDLE_POLL_INTERVAL", problem)
    prefix = _text(e, "REDIS_PREFIX") or "nowplaying"
    if any(c.isspace() for c in prefix):
        raise ConfigError("REDIS_PREFIX", f"must not contain whitespace, got {prefix!r}")
    origins = tuple(o.strip() for o in (e.get("CORS_ORIGINS") or "*").split(",") if o.strip())
    for origin in origins:
        if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
            raise ConfigError("CORS_ORIGINS", f"{origin!r} is not '*' or an http(s) origin")
    redirect = _url(e, "SPOTIFY_REDIRECT_URI", DEFAULT_REDIRECT_URI, {"http", "https"})
    accounts = _url(e, "SPOTIFY_ACCOUNTS_URL", DEFAULT_ACCOUNTS_URL, {"http", "https"})
    api = _url(e, "SPOTIFY_API_URL", DEFAULT_API_URL, {"http", "https"})
    assert redirect is not None and accounts is not None and api is not None
    return Settings(
        client_id=_text(e, "SPOTIFY_CLIENT_ID"),
        client_secret=_text(e, "SPOTIFY_CLIENT_SECRET"),
        refresh_token=_text(e, "SPOTIFY_REFRESH_TOKEN"),
        access_token=_text(e, "SPOTIFY_ACCESS_TOKEN"),
        redirect_uri=redirect,
        accounts_url=accounts,
        api_url=api,
        redis_url=_url(e, "REDIS_URL", None, {"redis", "rediss", "unix"}),
        redis_prefix=prefix,
        poll_interval=poll,
        idle_poll_interval=idle,
        host=_text(e, "HOST") or "127.0.0.1",
        port=_port(e, "PORT", 8000),
        cors_origins=origins or ("*",),
        sse_ping_interval=_number(e, "SSE_PING_INTERVAL", 15.0, 0.1),
        admin_token=_text(e, "ADMIN_TOKEN"),
        poll_mode=_poll_mode(e),
        daily_budget=_budget(e),
    )
