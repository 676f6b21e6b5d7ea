"""What a listening source gives back instead of a song; shared by clients and the poller.

`kind` is what the failover acts on; `message` is for the person running the instance and
names the fix (never a secret: clients build it from names, never from keys or URLs).
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["auth", "config", "rate_limited", "paused", "unavailable"]


class SourceError(Exception):
    def __init__(self, kind: Kind, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.message = message
        self.retry_after_s = retry_after_s
