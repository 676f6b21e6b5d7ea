"""Last.fm as a source: one `user.getRecentTracks` call per read carries both the
now-playing item and the latest scrobble."""

from __future__ import annotations

from dataclasses import dataclass

from poller.providers.lastfm.client import LastfmClient
from poller.providers.lastfm.normalize import normalize_recent_tracks
from poller.source import SourceContext
from shared.document import Provider, Song


@dataclass
class LastfmSource:
    client: LastfmClient
    name: Provider = "lastfm"

    async def read(self, now_ms: int) -> Song | None:
        return normalize_recent_tracks(await self.client.recent_tracks(limit=1))

    def take_calls(self) -> dict[str, int]:
        return dict(self.client.take_calls())


def build(context: SourceContext) -> LastfmSource | None:
    s = context.settings
    if not (s.lastfm_api_key and s.lastfm_user):
        return None
    client = LastfmClient(
        context.http, s.lastfm_api_url, s.lastfm_api_key, s.lastfm_user, context.clock
    )
    return LastfmSource(client)
