"""Listening sources other than Spotify's own path: one small protocol and two adapters.

A source reads once and returns a song, None (nothing known), or raises SourceError with a
kind the failover acts on. Each adapter keeps only what its provider needs between reads;
back-off and schedule live in `SourceSlot`, one per source, so every source backs off
alone. No call here counts against SPOTIFY_DAILY_BUDGET.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from poller import plan, policy
from poller.failover import Status
from poller.providers.lastfm.client import LastfmClient
from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.providers.listenbrainz.client import ListenBrainzClient
from poller.providers.listenbrainz.normalize import normalize_listens, normalize_playing_now
from shared.config import Settings
from shared.document import Provider, Song
from shared.source_error import SourceError

__all__ = ["LastfmSource", "ListenBrainzSource", "Source", "SourceError", "SourceSlot"]

RECENT_REFRESH_MS = 10 * 60 * 1000


class Source(Protocol):
    name: Provider

    async def read(self, now_ms: int) -> Song | None:
        """The current or latest item; SourceError when the provider cannot say."""
        ...

    def take_calls(self) -> dict[str, int]:
        """Calls since the last take, by endpoint and status (for /metrics)."""
        ...


@dataclass
class LastfmSource:
    """One `user.getRecentTracks` call per read: it carries both now-playing and the latest."""

    client: LastfmClient
    name: Provider = "lastfm"

    async def read(self, now_ms: int) -> Song | None:
        return normalize_recent_tracks(await self.client.recent_tracks(limit=1))

    def take_calls(self) -> dict[str, int]:
        return dict(self.client.take_calls())


@dataclass
class ListenBrainzSource:
    """playing-now on every read; the latest listen only when playing stops (or every 10 min
    while idle), since it changes only when a listen is submitted."""

    client: ListenBrainzClient
    name: Provider = "listenbrainz"
    recent: Song | None = None
    recent_at_ms: int | None = None

    async def read(self, now_ms: int) -> Song | None:
        playing = normalize_playing_now(await self.client.playing_now())
        if playing is not None:
            self.recent_at_ms = None  # ask for the latest listen again once it stops
            return playing
        if self.recent_at_ms is None or now_ms - self.recent_at_ms >= RECENT_REFRESH_MS:
            self.recent = normalize_listens(await self.client.listens(count=1))
            self.recent_at_ms = now_ms
        return self.recent

    def take_calls(self) -> dict[str, int]:
        return dict(self.client.take_calls())


def build_sources(
    settings: Settings, http: httpx.AsyncClient, clock: Callable[[], float]
) -> list[Source]:
    """The configured non-Spotify sources, in preference order."""
    sources: list[Source] = []
    for name in settings.source_order:
        if name == "lastfm" and settings.lastfm_api_key and settings.lastfm_user:
            client = LastfmClient(
                http, settings.lastfm_api_url, settings.lastfm_api_key, settings.lastfm_user, clock
            )
            sources.append(LastfmSource(client))
        elif name == "listenbrainz" and settings.listenbrainz_user:
            lb = ListenBrainzClient(
                http,
                settings.listenbrainz_api_url,
                settings.listenbrainz_user,
                settings.listenbrainz_token,
                clock,
            )
            sources.append(ListenBrainzSource(lb))
    return sources


@dataclass
class SourceSlot:
    """A source's schedule, back-off and latest status."""

    source: Source
    status: Status = field(default_factory=Status)
    due_ms: int = 0
    failures: int = 0
    idle_since_ms: int | None = None

    def answered(self, song: Song | None, now_ms: int, poll_s: float, idle_s: float) -> None:
        self.failures = 0
        if policy.is_playing(song):
            self.idle_since_ms = None
        elif self.idle_since_ms is None:
            self.idle_since_ms = now_ms
        delay = plan.watched_delay(
            now_ms=now_ms,
            song=song,
            idle_since_ms=self.idle_since_ms,
            poll_s=poll_s,
            idle_poll_s=idle_s,
        )
        self.due_ms = now_ms + int(delay * 1000)
        fresh = now_ms + policy.stale_window_ms(delay)
        self.status = Status(song=song, ok_at_ms=now_ms, fresh_until_ms=fresh)

    def failed(self, error: SourceError, now_ms: int, poll_s: float, rng: random.Random) -> None:
        self.failures += 1
        if error.kind in ("auth", "config"):
            delay = policy.AUTH_RETRY_S
        else:
            delay = max(
                error.retry_after_s or 0.0, policy.backoff_delay(self.failures, poll_s, rng)
            )
        retry_at = now_ms + int((error.retry_after_s or delay) * 1000)
        self.due_ms = now_ms + int(delay * 1000)
        s = self.status
        self.status = Status(
            s.song, s.ok_at_ms, s.fresh_until_ms, error.kind, error.message, retry_at
        )
