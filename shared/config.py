"""Settings from the environment and `.env`, validated once at start-up.

A bad value raises ConfigError naming the variable; the CLI turns it into exit status 2
with one line on stderr, so a typo never becomes a crash loop with a traceback.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from shared.heartbeat import stale_window_s
from shared.logs import mask_url_secrets
from shared.origins import normalize_origin

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/callback"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_LASTFM_API_URL = "https://ws.audioscrobbler.com/2.0/"
DEFAULT_LISTENBRAINZ_API_URL = "https://api.listenbrainz.org"
DEFAULT_LANYARD_API_URL = "https://api.lanyard.rest"
# The default preference order of SOURCES: a push is what the owner's own player says now.
PROVIDERS = ("push", "spotify", "lastfm", "listenbrainz", "lanyard")
ADMIN_TOKEN_MIN_LENGTH = 24
INGEST_TOKEN_MIN_LENGTH = 24
HIDE_KINDS = ("artist", "show", "album", "context", "explicit")


@dataclass(frozen=True)
class HideRule:
    """One PRIVACY_HIDE rule: `kind` is one of HIDE_KINDS; `value` is casefolded ("" for
    `explicit`, which takes none)."""

    kind: str
    value: str = ""


class ConfigError(Exception):
    """One invalid variable; str() is the single line shown to the user, with the
    password of any URL in it masked (it is printed, and may be logged)."""

    def __init__(self, variable: str, problem: str) -> None:
        problem = mask_url_secrets(problem)
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
    lastfm_api_key: str | None = field(default=None, repr=False)
    lastfm_user: str | None = None
    lastfm_api_url: str = DEFAULT_LASTFM_API_URL
    listenbrainz_user: str | None = None
    listenbrainz_token: str | None = field(default=None, repr=False)
    listenbrainz_api_url: str = DEFAULT_LISTENBRAINZ_API_URL
    sources: tuple[str, ...] | None = None  # None: every configured provider, in PROVIDERS order
    forwarded_allow_ips: str = "127.0.0.1"
    max_streams: int = 1000
    max_streams_per_client: int = 16
    header_timeout: float = 10.0
    max_connections_per_client: int = 64
    client_ipv6_prefix: int = 56
    poll_mode: str = "viewers"
    daily_budget: int = 1000
    ingest_token: str | None = field(default=None, repr=False)
    ingest_user: str = "nowplaying"
    lanyard_user_id: str | None = None
    lanyard_api_url: str = DEFAULT_LANYARD_API_URL
    history_limit: int = 5000
    privacy_delay: float = 0.0
    privacy_hide: tuple[HideRule, ...] = ()

    @property
    def has_credentials(self) -> bool:
        """Whether a real Spotify account is configured (else demo mode)."""
        return bool(self.client_id and self.client_secret and self.refresh_token) or bool(
            self.access_token
        )

    @property
    def configured_providers(self) -> tuple[str, ...]:
        """Providers with enough configuration to be asked, in the default preference order.

        Spotify counts with its app credentials alone: the refresh token may arrive later
        through `/login` or `nowplaying auth` into Redis."""
        present = {
            "push": bool(self.ingest_token),
            "spotify": bool(self.client_id and self.client_secret) or bool(self.access_token),
            "lastfm": bool(self.lastfm_api_key and self.lastfm_user),
            "listenbrainz": bool(self.listenbrainz_user),
            "lanyard": bool(self.lanyard_user_id),
        }
        return tuple(p for p in PROVIDERS if present[p])

    @property
    def source_order(self) -> tuple[str, ...]:
        """`SOURCES`, or every configured provider."""
        return self.sources if self.sources is not None else self.configured_providers

    @property
    def has_provider(self) -> bool:
        """A provider is configured (else `nowplaying run` shows the demo player).

        The Spotify app's credentials alone count (the contract's "no Spotify credentials"):
        the refresh token may be in Redis already (`nowplaying auth`, `/login`), and a demo
        player in its place would overwrite that stored token with the simulator's."""
        return bool(self.configured_providers)

    @property
    def stale_after_s(self) -> float:
        """How old the poller's heartbeat may be (the contract's freshness window)."""
        return stale_window_s(self.poll_interval)

    @property
    def poll_timeout_s(self) -> float:
        """How long one poll may take: shorter than the interval, so a hanging poll never
        overlaps the next one; also the Spotify HTTP client's timeout."""
        return max(0.5, min(10.0, self.poll_interval * 0.8))

    def missing_client(self) -> str | None:
        """The first of the Spotify app's two credentials that is unset, by variable name."""
        if not self.client_id:
            return "SPOTIFY_CLIENT_ID"
        if not self.client_secret:
            return "SPOTIFY_CLIENT_SECRET"
        return None

    def require_client(self, problem: str) -> None:
        """Raise ConfigError naming the missing credential, with `problem` as the reason."""
        missing = self.missing_client()
        if missing:
            raise ConfigError(missing, problem)

    def secrets(self) -> list[str]:
        """Values that must never reach a response or a log line."""
        values = [
            self.client_secret,
            self.refresh_token,
            self.access_token,
            self.admin_token,
            self.lastfm_api_key,
            self.listenbrainz_token,
            self.ingest_token,
        ]
        values.append(urlsplit(self.redis_url).password if self.redis_url else None)
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


def _count(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = _text(env, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(name, f"must be a whole number of at least {minimum}, got {raw!r}")
    return int(raw)


def _ipv6_prefix(env: Mapping[str, str]) -> int:
    """A prefix length an IPv6 network can have; shorter than /16 would lump whole
    providers into one client."""
    prefix = _count(env, "CLIENT_IPV6_PREFIX", 56, 16)
    if prefix > 128:
        raise ConfigError("CLIENT_IPV6_PREFIX", f"must be at most 128, got {prefix}")
    return prefix


def _admin_token(env: Mapping[str, str]) -> str | None:
    """A guessable token lets anyone connect their own Spotify account: refuse short ones."""
    token = _text(env, "ADMIN_TOKEN")
    if token is not None and len(token) < ADMIN_TOKEN_MIN_LENGTH:
        problem = (
            f"must be at least {ADMIN_TOKEN_MIN_LENGTH} characters long, got {len(token)} "
            "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
        raise ConfigError("ADMIN_TOKEN", problem)
    return token


def _ingest_token(env: Mapping[str, str]) -> str | None:
    """Anyone holding it can put words on the owner's card: refuse short ones."""
    token = _text(env, "INGEST_TOKEN")
    if token is not None and (len(token) < INGEST_TOKEN_MIN_LENGTH or not token.isprintable()):
        problem = (
            f"must be at least {INGEST_TOKEN_MIN_LENGTH} printable characters, got {len(token)} "
            "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
        raise ConfigError("INGEST_TOKEN", problem)
    return token


def _ingest_user(env: Mapping[str, str]) -> str:
    """A path segment of `/1/user/<name>/playing-now`: no slash, no space, no control."""
    name = _text(env, "INGEST_USER") or "nowplaying"
    if len(name) > 64 or not all(c.isprintable() and not c.isspace() and c != "/" for c in name):
        raise ConfigError("INGEST_USER", f"must be a user name without '/' or spaces: {name!r}")
    return name


def _lanyard_user(env: Mapping[str, str]) -> str | None:
    """A Discord user id is a snowflake: 17 to 20 digits."""
    raw = _text(env, "LANYARD_USER_ID")
    if raw is not None and not (raw.isascii() and raw.isdigit() and 15 <= len(raw) <= 21):
        raise ConfigError("LANYARD_USER_ID", f"must be a Discord user id (digits), got {raw!r}")
    return raw


MAX_PRIVACY_DELAY_S = 86_400.0


def _privacy_delay(env: Mapping[str, str]) -> float:
    """At most a day: a card a day late is already a history, and a longer line would
    keep every change of the day in Redis."""
    delay = _number(env, "PRIVACY_DELAY", 0.0, 0.0)
    if delay > MAX_PRIVACY_DELAY_S:
        raise ConfigError(
            "PRIVACY_DELAY", f"must be at most {MAX_PRIVACY_DELAY_S:g} s, got {delay:g}"
        )
    return delay


def _hide_rules(env: Mapping[str, str]) -> tuple[HideRule, ...]:
    """PRIVACY_HIDE: `artist:NAME,show:NAME,album:NAME,context:URI,explicit`."""
    raw = _text(env, "PRIVACY_HIDE")
    if raw is None:
        return ()
    rules: list[HideRule] = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        kind, sep, value = entry.partition(":")
        kind = kind.strip().lower()
        if kind == "explicit" and not value.strip():
            rules.append(HideRule("explicit"))
            continue
        if kind not in HIDE_KINDS or not sep or not value.strip():
            problem = (
                f"{entry!r} is not a rule (artist:NAME, show:NAME, album:NAME, "
                "context:SPOTIFY_URI or explicit)"
            )
            raise ConfigError("PRIVACY_HIDE", problem)
        rules.append(HideRule(kind, value.strip().casefold()))
    return tuple(rules)


def _origins(env: Mapping[str, str]) -> tuple[str, ...]:
    """CORS_ORIGINS in the form browsers send, without duplicates; `*` when unset."""
    entries = [o for o in (env.get("CORS_ORIGINS") or "*").split(",") if o.strip()]
    result: list[str] = []
    for entry in entries:
        try:
            origin = normalize_origin(entry)
        except ValueError as exc:
            raise ConfigError("CORS_ORIGINS", str(exc)) from None
        if origin not in result:
            result.append(origin)
    return tuple(result) or ("*",)


def _proxies(env: Mapping[str, str]) -> str:
    """FORWARDED_ALLOW_IPS as uvicorn takes it: `*`, or addresses and networks."""
    raw = _text(env, "FORWARDED_ALLOW_IPS") or "127.0.0.1"
    for entry in (e.strip() for e in raw.split(",")):
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problem = f"{entry!r} is not '*', an IP address or a network (e.g. 10.0.0.0/8)"
            raise ConfigError("FORWARDED_ALLOW_IPS", problem) from None
    return raw


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


def _sources(env: Mapping[str, str], configured: tuple[str, ...]) -> tuple[str, ...] | None:
    """`SOURCES`: known, configured, not repeated; None when unset (the default order)."""
    raw = _text(env, "SOURCES")
    if raw is None:
        return None
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    known = ", ".join(PROVIDERS)
    if not names:
        raise ConfigError("SOURCES", f"names no provider ({known})")
    for name in names:
        if name not in PROVIDERS:
            raise ConfigError("SOURCES", f"unknown provider {name!r} ({known})")
        if name not in configured:
            needs = {
                "push": "INGEST_TOKEN",
                "spotify": "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET",
                "lastfm": "LASTFM_API_KEY and LASTFM_USER",
                "listenbrainz": "LISTENBRAINZ_USER",
                "lanyard": "LANYARD_USER_ID",
            }[name]
            raise ConfigError("SOURCES", f"{name!r} is not configured (it needs {needs})")
    if len(set(names)) != len(names):
        raise ConfigError("SOURCES", f"names a provider twice: {raw!r}")
    return names


def _pair(env: Mapping[str, str], first: str, second: str) -> tuple[str | None, str | None]:
    """Two variables that only work together: one without the other names the missing one."""
    a, b = _text(env, first), _text(env, second)
    if a and not b:
        raise ConfigError(second, f"is required when {first} is set")
    if b and not a:
        raise ConfigError(first, f"is required when {second} is set")
    return a, b


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
    # The default idle interval never undercuts POLL_INTERVAL: the contract refuses only a
    # POLL_INTERVAL below 1, so POLL_INTERVAL=60 alone must start (idle then 60 too).
    idle = _number(e, "IDLE_POLL_INTERVAL", max(30.0, poll), 1.0)
    if idle < poll:
        problem = f"must not be shorter than POLL_INTERVAL ({poll:g})"
        raise ConfigError("IDLE_POLL_INTERVAL", problem)
    prefix = _text(e, "REDIS_PREFIX") or "nowplaying"
    if any(c.isspace() for c in prefix):
        raise ConfigError("REDIS_PREFIX", f"must not contain whitespace, got {prefix!r}")
    origins = _origins(e)
    redirect = _url(e, "SPOTIFY_REDIRECT_URI", DEFAULT_REDIRECT_URI, {"http", "https"})
    accounts = _url(e, "SPOTIFY_ACCOUNTS_URL", DEFAULT_ACCOUNTS_URL, {"http", "https"})
    api = _url(e, "SPOTIFY_API_URL", DEFAULT_API_URL, {"http", "https"})
    assert redirect is not None and accounts is not None and api is not None
    client_id, client_secret = _pair(e, "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET")
    lastfm_key, lastfm_user = _pair(e, "LASTFM_API_KEY", "LASTFM_USER")
    lastfm_url = _url(e, "LASTFM_API_URL", DEFAULT_LASTFM_API_URL, {"http", "https"})
    lb_url = _url(e, "LISTENBRAINZ_API_URL", DEFAULT_LISTENBRAINZ_API_URL, {"http", "https"})
    lb_user, lb_token = _text(e, "LISTENBRAINZ_USER"), _text(e, "LISTENBRAINZ_TOKEN")
    if lb_token and not lb_user:
        raise ConfigError("LISTENBRAINZ_USER", "is required when LISTENBRAINZ_TOKEN is set")
    for name, value in (("LASTFM_USER", lastfm_user), ("LISTENBRAINZ_USER", lb_user)):
        # Names may hold spaces or slashes (MusicBrainz allows them): clients encode them.
        if value is not None and (len(value) > 200 or not value.isprintable()):
            raise ConfigError(name, f"is not a user name: {value!r}")
    assert lastfm_url is not None and lb_url is not None
    if _count(e, "CLIENT_IPV6_PREFIX", 56, 16) > 128:
        raise ConfigError("CLIENT_IPV6_PREFIX", "must be an IPv6 prefix length, 16 to 128")
    settings = Settings(
        lastfm_api_key=lastfm_key,
        lastfm_user=lastfm_user,
        lastfm_api_url=lastfm_url,
        listenbrainz_user=lb_user,
        listenbrainz_token=lb_token,
        listenbrainz_api_url=lb_url,
        client_id=client_id,
        client_secret=client_secret,
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
        cors_origins=origins,
        sse_ping_interval=_number(e, "SSE_PING_INTERVAL", 15.0, 0.1),
        admin_token=_admin_token(e),
        forwarded_allow_ips=_proxies(e),
        max_streams=_count(e, "MAX_STREAMS", 1000, 1),
        max_streams_per_client=_count(e, "MAX_STREAMS_PER_CLIENT", 16, 1),
        header_timeout=_number(e, "HEADER_TIMEOUT", 10.0, 1.0),
        max_connections_per_client=_count(e, "MAX_CONNECTIONS_PER_CLIENT", 64, 1),
        client_ipv6_prefix=_ipv6_prefix(e),
        poll_mode=_poll_mode(e),
        daily_budget=_budget(e),
        ingest_token=_ingest_token(e),
        ingest_user=_ingest_user(e),
        lanyard_user_id=_lanyard_user(e),
        lanyard_api_url=_url(e, "LANYARD_API_URL", DEFAULT_LANYARD_API_URL, {"http", "https"})
        or DEFAULT_LANYARD_API_URL,
        history_limit=_count(e, "HISTORY_LIMIT", 5000, 1),
        privacy_delay=_privacy_delay(e),
        privacy_hide=_hide_rules(e),
    )
    return dataclasses.replace(settings, sources=_sources(e, settings.configured_providers))
