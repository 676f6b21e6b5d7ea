"""The access token: reused until shortly before it expires, shared through Redis.

Redis holds the access token with a TTL, so a restarted poller or a new leader does not
refresh again, and holds the refresh token, so a rotated one or one stored by the setup
flow wins over `SPOTIFY_REFRESH_TOKEN` until that variable itself changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from shared.spotify import InvalidClient, NotConnected, SpotifyClient, SpotifyError
from shared.store import Store, fingerprint

log = logging.getLogger("nowplaying.tokens")

EARLY_REFRESH_MS = 60_000


@dataclass
class TokenManager:
    store: Store
    spotify: SpotifyClient
    client_id: str | None
    client_secret: str | None
    env_refresh_token: str | None
    env_access_token: str | None
    clock_ms: Callable[[], int]
    _cached: tuple[str, int] | None = None
    refreshes: int = 0

    async def refresh_token(self) -> str | None:
        """The refresh token to use: the stored one, unless the environment's is new."""
        record = await self.store.refresh_record()
        env = self.env_refresh_token
        if env and fingerprint(env) != record.env_seen:
            await self.store.store_refresh_token(env, authorized_at=None, env_seen=fingerprint(env))
            self._cached = None
            return env
        return record.token or env

    async def access_token(self) -> str:
        """A valid access token, refreshing only when none is left."""
        now = self.clock_ms()
        if self._cached and self._cached[1] - EARLY_REFRESH_MS > now:
            return self._cached[0]
        stored = await self.store.access_token()
        if stored and stored[1] - EARLY_REFRESH_MS > now:
            self._cached = stored
            return stored[0]
        return await self._refresh()

    async def invalidate(self, token: str) -> None:
        """The Web API said 401 for `token`: forget it everywhere."""
        if self._cached and self._cached[0] == token:
            self._cached = None
        stored = await self.store.access_token()
        if stored and stored[0] == token:
            await self.store.clear_access_token()

    async def _refresh(self) -> str:
        refresh = await self.refresh_token()
        if not refresh:
            if self.env_access_token:
                return self.env_access_token
            raise NotConnected("no refresh token yet")
        if not self.client_id or not self.client_secret:
            raise InvalidClient("SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET are required")
        try:
            grant = await self.spotify.refresh(self.client_id, self.client_secret, refresh)
        except SpotifyError:
            self._cached = None
            raise
        self.refreshes += 1
        if grant.refresh_token and grant.refresh_token != refresh:
            # Rotation: the old token may already be dead, so store the new one first thing.
            await self.store.store_refresh_token(grant.refresh_token, authorized_at=None)
            log.info("Spotify rotated the refresh token; the new one is stored")
        now = self.clock_ms()
        expires_at = now + grant.expires_in_s * 1000
        self._cached = (grant.access_token, expires_at)
        await self.store.set_access_token(
            grant.access_token, expires_at, expires_at - EARLY_REFRESH_MS - now
        )
        record = await self.store.refresh_record()
        if record.authorized_at is None:
            # A token from the environment: its age counts from its first successful use.
            await self.store.set_authorized_at(now)
        return grant.access_token
