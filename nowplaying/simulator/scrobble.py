"""What the simulated Last.fm and ListenBrainz share: the one Player, ids, and faults.

Both read the same `Player` as the simulated Spotify, so a test plays a track once and sees
it through every source. A track that plays is what a scrobbler reports as now playing; a
finished track in the player's history is a scrobble (episodes are not scrobbled).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from nowplaying.simulator.player import Item, Player

FAULTS = (
    "bad_key",
    "bad_token",
    "unknown_user",
    "private",
    "rate_limit",
    "5xx",
    "slow",
    "malformed",
)


def recording_mbid(item: Item) -> str | None:
    """A stable, made-up MusicBrainz recording id per catalog track (none for local files)."""
    return (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"nowplaying-sim:recording:{item.id}"))
        if item.id
        else None
    )


def release_mbid(item: Item) -> str | None:
    return (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"nowplaying-sim:release:{item.album}"))
        if item.id
        else None
    )


@dataclass
class Fault:
    kind: str
    times: int = 1
    delay_s: float = 0.0
    retry_after_s: int | None = None


@dataclass
class ScrobbleSim:
    """One simulated scrobbling service's state around the shared player."""

    player: Player
    clock: Callable[[], int]
    user: str = "sim-user"
    api_key: str = "sim-lastfm-key"
    token: str | None = None  # ListenBrainz: a token that must match when one is sent
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)

    def take_fault(self) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.faults.remove(fault)
                return fault
        return None

    def now_playing(self) -> Item | None:
        """The track playing now, if any (paused, stopped, ads and episodes: none)."""
        now = self.clock()
        self.player.advance(now)
        item = self.player.items[self.player.index]
        return item if self.player.mode == "playing" and item.kind == "track" else None

    def scrobbles(self, limit: int) -> list[tuple[Item, int]]:
        """Finished tracks, newest first, with the second they were scrobbled."""
        self.player.advance(self.clock())
        entries = list(reversed(self.player.history))[:limit]
        return [(self.player.items[i], at // 1000) for i, at in entries]

    async def control(self, request: Request) -> dict[str, Any]:
        """`POST /_sim/faults` {"fault": kind, "times", "delay", "retryAfter"}; DELETE clears."""
        if request.method == "DELETE":
            self.faults.clear()
        else:
            try:
                body = await request.json()
            except ValueError:
                body = {}
            kind = str(body.get("fault", "5xx")) if isinstance(body, dict) else "5xx"
            if kind in FAULTS and isinstance(body, dict):
                retry = body.get("retryAfter")
                self.faults.append(
                    Fault(
                        kind,
                        int(body.get("times", 1)),
                        float(body.get("delay", 0.0)),
                        int(retry) if isinstance(retry, int) else None,
                    )
                )
        return {"faults": [f.kind for f in self.faults], "calls": dict(self.calls)}


async def pause(fault: Fault | None) -> None:
    if fault is not None and fault.delay_s:
        await asyncio.sleep(fault.delay_s)
