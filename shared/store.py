"""Every Redis key and channel of nowplaying, behind one small class.

The same code runs against a real Redis and against fakeredis (the embedded store of
`nowplaying run`), so the one-process mode exercises exactly what production runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError, WatchError

from shared.document import Document, Song, decode, encode, stored_version
from shared.heartbeat import Heartbeat, decode_heartbeat, encode_heartbeat

Redis = aioredis.Redis


def connect(url: str | None) -> Redis:
    """A real Redis client for `url`, or an in-process fakeredis when `url` is None."""
    if url is None:
        import fakeredis

        client: Redis = fakeredis.FakeAsyncRedis()
        return client
    return aioredis.from_url(
        url,
        health_check_interval=10,
        socket_connect_timeout=2,
        socket_timeout=5,
        socket_keepalive=True,
    )


def fingerprint(secret: str) -> str:
    """A short one-way tag of a secret, so we can tell values apart without storing them."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def current(self) -> str:
        return f"{self.prefix}:current"

    @property
    def updates(self) -> str:
        return f"{self.prefix}:updates"

    @property
    def access_token(self) -> str:
        return f"{self.prefix}:token:access"

    @property
    def refresh_token(self) -> str:
        return f"{self.prefix}:token:refresh"

    @property
    def heartbeat(self) -> str:
        return f"{self.prefix}:poller:heartbeat"

    @property
    def leader(self) -> str:
        return f"{self.prefix}:poller:leader"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:poller:stats"

    @property
    def spotify_calls(self) -> str:
        return f"{self.prefix}:spotify:calls"

    @property
    def spotify_pause(self) -> str:
        return f"{self.prefix}:spotify:pause"

    @property
    def demand(self) -> str:
        return f"{self.prefix}:demand"

    @property
    def wake(self) -> str:
        return f"{self.prefix}:wake"

    @property
    def last_poll(self) -> str:
        return f"{self.prefix}:poller:lastpoll"

    @property
    def push(self) -> str:
        """The item the ingest routes were last told about (the push source reads it)."""
        return f"{self.prefix}:push:current"

    @property
    def history(self) -> str:
        return f"{self.prefix}:history"

    @property
    def privacy(self) -> str:
        """The switch of `nowplaying privacy hide|show`: set while hidden."""
        return f"{self.prefix}:privacy:hidden"

    @property
    def live(self) -> str:
        """The undelayed document while PRIVACY_DELAY holds `current` back."""
        return f"{self.prefix}:live"

    def oauth_state(self, state: str) -> str:
        return f"{self.prefix}:oauth:state:{state}"


@dataclass(frozen=True)
class RefreshRecord:
    token: str | None
    authorized_at: int | None
    env_seen: str | None


Transition = Callable[[Document | None], Document | None]


class Store:
    """Typed operations on one Redis under one prefix."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self.redis = client
        self.keys = Keys(prefix)

    def demo_tokens(self) -> Store:
        """Where the demo player keeps its simulated tokens (`P:demo:token:*`), so a demo
        on a shared Redis never touches, nor reports on, the owner's."""
        return Store(self.redis, f"{self.keys.prefix}:demo")

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # -- the document -------------------------------------------------------------------

    async def current_raw(self) -> bytes | None:
        """The stored bytes; None when there are none, or when the key holds another
        Redis type (a list written by hand: GET answers WRONGTYPE), which is no document."""
        try:
            raw: Any = await self.redis.get(self.keys.current)
        except ResponseError:
            return None
        return raw if isinstance(raw, bytes) else None

    async def current(self) -> Document | None:
        raw = await self.current_raw()
        return decode(raw) if raw else None

    async def transition(self, change: Transition) -> Document | None:
        """Store and publish `change(current)` in one transaction, or nothing if it says None.

        WATCH makes concurrent writers (a poller, a web watchdog) retry instead of
        overwriting each other; SET and PUBLISH share one MULTI, so no reader ever sees a
        version that was not stored.
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.keys.current)
                    try:
                        raw = await pipe.get(self.keys.current)
                    except ResponseError:  # another Redis type: absent, SET replaces it
                        raw = None
                    stored = decode(raw) if raw else None
                    new = change(stored)
                    if new is None:
                        await pipe.unwatch()
                        return None
                    if raw and stored is None and new["version"] <= stored_version(raw):
                        new = new | {"version": stored_version(raw) + 1}  # replaces garbage
                    data = encode(new)
                    pipe.multi()
                    pipe.set(self.keys.current, data)
                    pipe.publish(self.keys.updates, data)
                    await pipe.execute()
                    return new
                except WatchError:
                    continue

    async def publish(
        self, song: Song | None, *, stale: bool, demo: bool, now_ms: int, floor_version: int = 0
    ) -> Document:
        """A new version above both the stored one and `floor_version` (survives a flush)."""

        def change(previous: Document | None) -> Document:
            base = previous["version"] if previous else 0
            return {
                "version": max(base, floor_version) + 1,
                "updatedAt": now_ms,
                "stale": stale,
                "demo": demo,
                "pausedUntil": None,
                "song": song,
            }

        document = await self.transition(change)
        assert document is not None
        return document

    # -- tokens -------------------------------------------------------------------------

    async def access_token(self) -> tuple[str, int] | None:
        raw = await self.redis.get(self.keys.access_token)
        try:
            value = json.loads(raw) if raw else None
            return (str(value["token"]), int(value["expiresAt"])) if value else None
        except (ValueError, KeyError, TypeError):
            return None

    async def set_access_token(self, token: str, expires_at_ms: int, ttl_ms: int) -> None:
        if ttl_ms <= 0:
            return
        value = json.dumps({"token": token, "expiresAt": expires_at_ms})
        await self.redis.set(self.keys.access_token, value, px=ttl_ms)

    async def clear_access_token(self) -> None:
        await self.redis.delete(self.keys.access_token)

    async def refresh_record(self) -> RefreshRecord:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.refresh_token)

        def text(name: bytes) -> str | None:
            value = raw.get(name)
            return value.decode() if value else None

        authorized = text(b"authorizedAt")
        return RefreshRecord(
            token=text(b"token"),
            authorized_at=int(authorized) if authorized and authorized.isdigit() else None,
            env_seen=text(b"envSeen"),
        )

    async def store_refresh_token(
        self, token: str, *, authorized_at: int | None, env_seen: str | None = None
    ) -> None:
        """A new refresh token; `authorized_at` None keeps the recorded time (a rotation)."""
        fields: dict[Any, Any] = {"token": token}
        if authorized_at is not None:
            fields["authorizedAt"] = str(authorized_at)
        if env_seen is not None:
            fields["envSeen"] = env_seen
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.refresh_token, mapping=fields)
            if authorized_at is None and env_seen is not None:
                pipe.hdel(self.keys.refresh_token, "authorizedAt")
            pipe.delete(self.keys.access_token)
            await pipe.execute()

    async def save_authorization(
        self, refresh_token: str, *, now_ms: int, env_token: str | None
    ) -> None:
        """A refresh token from a new authorization (`nowplaying auth`, /callback): its six
        months start now, and the environment's token, already seen, must not replace it."""
        env_seen = fingerprint(env_token) if env_token else None
        await self.store_refresh_token(refresh_token, authorized_at=now_ms, env_seen=env_seen)

    async def set_authorized_at(self, when_ms: int) -> None:
        await self.redis.hset(self.keys.refresh_token, "authorizedAt", str(when_ms))

    # -- the poller's liveness and leadership ---------------------------------------------

    async def write_heartbeat(self, beat: Heartbeat) -> None:
        await self.redis.set(self.keys.heartbeat, encode_heartbeat(beat), ex=86400)

    async def heartbeat(self) -> Heartbeat | None:
        """The leader's last heartbeat; None when there is none or it is unreadable."""
        return decode_heartbeat(await self.redis.get(self.keys.heartbeat))

    async def acquire_leadership(self, owner: str, ttl_ms: int) -> bool:
        """Take the lock if free, or extend it if already ours."""
        if await self.redis.set(self.keys.leader, owner, nx=True, px=ttl_ms):
            return True
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.keys.leader)
                holder: Any = await pipe.get(self.keys.leader)
                if holder is None or holder.decode() != owner:
                    await pipe.unwatch()
                    return False
                pipe.multi()
                pipe.pexpire(self.keys.leader, ttl_ms)
                await pipe.execute()
                return True
            except WatchError:
                return False

    async def release_leadership(self, owner: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.keys.leader)
                held: Any = await pipe.get(self.keys.leader)
                if held is not None and held.decode() == owner:
                    pipe.multi()
                    pipe.delete(self.keys.leader)
                    await pipe.execute()
                else:
                    await pipe.unwatch()
            except WatchError:
                pass

    async def add_stats(self, counts: Mapping[str, int]) -> None:
        if not counts:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, count in counts.items():
                pipe.hincrby(self.keys.stats, name, count)
            await pipe.execute()

    async def stats(self) -> dict[str, int]:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.stats)
        return {k.decode(): int(v) for k, v in raw.items() if v.isdigit()}

    # -- one-time OAuth state -----------------------------------------------------------

    async def save_oauth_state(self, state: str, record: Mapping[str, str], ttl_s: int) -> None:
        await self.redis.set(self.keys.oauth_state(state), json.dumps(dict(record)), ex=ttl_s)

    async def consume_oauth_state(self, state: str) -> dict[str, str] | None:
        """Read and delete at once: a replayed state finds nothing."""
        raw = await self.redis.getdel(self.keys.oauth_state(state))
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
