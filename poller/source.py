"""The seam every listening provider plugs into: what a source is, what it is built from,
and what it gives back instead of a song.

A source reads once and returns a song, None (nothing known), or raises SourceError with a
kind the failover acts on. It owns its client and whatever its provider needs between
reads (tokens, a budget, a quirk's memory); its schedule and back-off live in the round's
`SourceSlot`, one per source, so every source backs off alone. A provider is one folder
under `poller/providers/<name>/` whose package exposes `build(context) -> Source | None`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from shared.config import Settings
from shared.document import Provider, Song
from shared.store import Store

Kind = Literal["auth", "config", "rate_limited", "paused", "unavailable"]


class SourceError(Exception):
    """`kind` is what the failover acts on; `message` is for the person running the
    instance and names the fix (never a secret: built from names, never keys or URLs)."""

    def __init__(
        self,
        kind: Kind,
        message: str,
        retry_after_s: float | None = None,
        cause: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.message = message
        self.retry_after_s = retry_after_s
        self.cause = cause  # a shared.setup_errors cause, when the owner must fix something


class Source(Protocol):
    name: Provider

    async def read(self, now_ms: int) -> Song | None:
        """The current or latest item; SourceError when the provider cannot say."""
        ...

    def take_calls(self) -> dict[str, int]:
        """Calls since the last take, by endpoint and status (for /metrics)."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What a provider's `build` may use: the process's settings, HTTP client, clock and
    store. A provider that needs nothing else is built from this alone."""

    settings: Settings
    http: httpx.AsyncClient
    clock: Callable[[], float]
    store: Store
    demo: bool = False  # the built-in simulated player: its calls cost no budget


Build = Callable[[SourceContext], Source | None]
