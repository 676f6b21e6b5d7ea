"""The pushed item as a source: reads `P:push:current`, written by the web's ingest routes
(shared/pushed.py owns the format), and calls no provider at all. A submission wakes the
poller (`push` on the wake channel), which reads this source at once."""

from __future__ import annotations

from dataclasses import dataclass

from poller.source import SourceContext, SourceError
from shared.document import Provider, Song
from shared.pushed import read_pushed, song_at
from shared.store import Store


@dataclass
class PushSource:
    store: Store
    name: Provider = "push"

    async def read(self, now_ms: int) -> Song | None:
        """The pushed playing item (position from its receipt), else the latest ended
        play as `source: "recent"`, else None; an expired item is not playing."""
        try:
            record = await read_pushed(self.store)
        except Exception as exc:  # redis errors of every kind, fakeredis' included
            raise SourceError(
                "unavailable",
                f"the pushed item could not be read from Redis ({type(exc).__name__})",
            ) from None
        return song_at(record, now_ms)

    def take_calls(self) -> dict[str, int]:
        return {}  # no provider is ever called


def build(context: SourceContext) -> PushSource | None:
    if not context.settings.ingest_token:
        return None
    return PushSource(context.store)
