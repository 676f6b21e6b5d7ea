"""Refusals logged as counts per interval, not one line each.

A flood of wrong admin tokens, refused connections or cut requests used to write one
line per refusal: an attacker chose how much the log grew. `RefusalLog` writes the
first refusal at once (so a problem shows up when it starts), then at most one line per
`interval_s` carrying how many of each kind were refused since the previous line.
Counts that arrive after the last line are carried by the next one. Pure apart from the
injected clock and the logger.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

INTERVAL_S = 60.0


class RefusalLog:
    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what  # e.g. "refused requests"
        self.interval_s = interval_s
        self.clock = clock
        self.pending: Counter[str] = Counter()
        self.logged_at: float | None = None

    def count(self, reason: str) -> None:
        """One refusal of kind `reason` (a short, bounded label: never client input)."""
        self.pending[reason] += 1
        now = self.clock()
        if self.logged_at is None or now - self.logged_at >= self.interval_s:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if not self.pending:
            return
        self.logged_at = self.clock() if now is None else now
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(self.pending.items()))
        self.logger.warning("%s (at most one line per %gs): %s", self.what, self.interval_s, counts)
        self.pending.clear()


class CountingFilter(logging.Filter):
    """Drops records whose message starts with `prefix` and counts them in `into`: for
    lines a library writes once per event (uvicorn's "Exceeded concurrency limit.")."""

    def __init__(self, prefix: str, into: RefusalLog, reason: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.into = into
        self.reason = reason

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self.prefix):
            self.into.count(self.reason)
            return False
        return True
