"""A validated submission: what it is (for the one log line) and how it changes the
stored pushed item (shared/pushed.py). Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.pushed import Pushed

Apply = Callable[[Pushed | None, int], Pushed | None]  # (stored, now ms) -> new, or None


class Malformed(ValueError):
    """A submission that is refused whole with 400; the message names the field."""


@dataclass(frozen=True)
class Submission:
    kind: str  # e.g. "listenbrainz playing_now", for the log (never a name: PRIVACY_HIDE)
    apply: Apply
    count: int = 1
