"""ListenBrainz as a source: playing-now on every read; the latest listen only when
playing stops (or every 10 min while idle), since it changes only when a listen is
submitted."""

from __future__ import annotations

from dataclasses import dataclass

from poller.providers.listenbrainz.client import ListenBrainzClient
from poller.providers.listenbrainz.normalize import normalize_listens, normalize_playing_now
from poller.source import SourceContext
from shared.document import Provider, Song

RECENT_REFRESH_MS = 10 * 60 * 1000


@dataclass
class ListenBrainzSource:
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


def build(context: SourceContext) -> ListenBrainzSource | None:
    s = context.settings
    if not s.listenbrainz_user:
        return None
    client = ListenBrainzClient(
        context.http,
        s.listenbrainz_api_url,
        s.listenbrainz_user,
        s.listenbrainz_token,
        context.clock,
    )
    return ListenBrainzSource(client)
