"""Closing a redis-py PubSub the same way on both sides, whatever redis-py types it as.

redis-py 5 left `PubSub.aclose` unannotated and 8 annotates it; calling it through `Any`
keeps `mypy --strict` quiet on both without a `type: ignore` that one of them calls unused.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def close_quietly(pubsub: Any, timeout_s: float = 1.0) -> None:
    """Close `pubsub`, giving up after `timeout_s`; a dead connection raises nothing."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pubsub.aclose(), timeout_s)
