"""Lanyard as a source: one `GET /v1/users/<id>` per read, on the same demand-driven
schedule as the scrobblers (the round's `SourceSlot` keeps it).

Lanyard knows the position but not a pause: pausing Spotify removes the activity from the
Discord presence, exactly like stopping. When the activity vanishes the source answers the
last track it saw as `recent` ("last played"), not None: a card then says what was just
playing and since when, which is true for a pause and a stop alike, while None would blank
it as if nothing had ever played. Views that hide when idle still hide it (`isPlaying` is
false). The memory is this process's; after a restart nothing is known until a track plays.
"""

from __future__ import annotations

from dataclasses import dataclass

from poller.providers.lanyard.client import LanyardClient
from poller.providers.lanyard.normalize import as_recent, normalize_presence
from poller.source import SourceContext
from shared.document import Provider, Song


@dataclass
class LanyardSource:
    client: LanyardClient
    name: Provider = "lanyard"
    last: Song | None = None  # the last track seen playing
    last_seen_ms: int = 0

    async def read(self, now_ms: int) -> Song | None:
        song = normalize_presence(await self.client.presence(), now_ms)
        if song is not None:
            self.last, self.last_seen_ms = song, now_ms
            return song
        if self.last is None:
            return None
        ended = self.last_seen_ms
        start, duration = self.last["progressAt"], self.last["durationMs"]
        if start is not None and duration is not None and self.last["progressMs"] is not None:
            ended = min(ended, start - self.last["progressMs"] + duration)
        return as_recent(self.last, ended)

    def take_calls(self) -> dict[str, int]:
        return dict(self.client.take_calls())


def build(context: SourceContext) -> LanyardSource | None:
    s = context.settings
    if not s.lanyard_user_id:
        return None
    return LanyardSource(
        LanyardClient(context.http, s.lanyard_api_url, s.lanyard_user_id, context.clock)
    )
