"""`nowplaying privacy hide|show`: flip the privacy switch in Redis (shared/privacy_switch.py).

`hide` publishes nothing-playing at once through `Store.transition`, so every open stream
says so within a second even before the poller's next round; `show` brings the live (or,
under PRIVACY_DELAY, the delayed) document back and wakes the poller to do the same.
"""

from __future__ import annotations

import asyncio
import sys

from shared.config import Settings
from shared.privacy_switch import set_hidden
from shared.store import Store, connect


async def _flip(settings: Settings, hidden: bool) -> None:
    store = Store(connect(settings.redis_url), settings.redis_prefix)
    try:
        await set_hidden(store, hidden, delayed=settings.privacy_delay > 0)
    finally:
        await store.close()


def privacy_main(settings: Settings, action: str) -> int:
    """0 when done; 2 without REDIS_URL (there is no store to flip) or Redis out of reach."""
    if settings.redis_url is None:
        print(
            "nowplaying: REDIS_URL is not set: `nowplaying privacy` needs the Redis "
            "the poller and the web app share",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(_flip(settings, action == "hide"))
    except Exception as exc:  # OSError and redis' own errors: one line, no traceback
        name = type(exc).__name__
        print(f"nowplaying: Redis at REDIS_URL did not answer ({name})", file=sys.stderr)
        return 1
    if action == "hide":
        print(
            "hidden: every public answer says nothing is playing, until `nowplaying privacy show`"
        )
    else:
        print("shown: the card is back")
    return 0
