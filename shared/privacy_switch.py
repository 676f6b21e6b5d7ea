"""The privacy switch: hide everything public at once, and show it again.

The switch is one Redis key (`Keys.privacy`, `P:privacy:hidden`): present while hidden.
Flipping it publishes `privacy` on `Keys.wake`, so a poller (and whatever else listens to
wake requests) acts at once instead of at its next poll. `nowplaying privacy hide|show`
and the admin page's button both go through these two functions.
"""

from __future__ import annotations

import time

from shared.store import Store

WAKE_MESSAGE = "privacy"


async def set_hidden(store: Store, hidden: bool) -> None:
    """Hide (set the key, its value the ms epoch it was set) or show (delete it), then wake."""
    if hidden:
        await store.redis.set(store.keys.privacy, str(int(time.time() * 1000)))
    else:
        await store.redis.delete(store.keys.privacy)
    await store.redis.publish(store.keys.wake, WAKE_MESSAGE)


async def is_hidden(store: Store) -> bool:
    return bool(await store.redis.exists(store.keys.privacy))
