"""The poller's counters in `P:poller:stats`: their keys are named and parsed here only.

`poll:<outcome>` counts rounds by the poller's state word; `<provider>:<endpoint>:<status>`
counts calls, whatever the provider (a new one reaches /metrics without an edit there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

POLL = "poll"


def poll_key(outcome: str) -> str:
    return f"{POLL}:{outcome}"


def call_keys(provider: str, calls: Mapping[str, int]) -> dict[str, int]:
    """A client's `endpoint:status` counts, under its provider's name."""
    return {f"{provider}:{key}": value for key, value in calls.items()}


@dataclass(frozen=True)
class Stat:
    kind: str  # "poll" or "call"
    provider: str  # "" for polls
    name: str  # the outcome, or the endpoint
    status: str  # "" for polls
    value: int


def parse(key: str, value: int) -> Stat | None:
    """One counter back from its key; None for a key of no known shape."""
    head, sep, rest = key.partition(":")
    if not sep or not rest:
        return None
    if head == POLL:
        return Stat("poll", "", rest, "", value)
    endpoint, sep, status = rest.rpartition(":")
    if not sep or not endpoint:
        return None
    return Stat("call", head, endpoint, status, value)
