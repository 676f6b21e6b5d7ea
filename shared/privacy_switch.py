"""The privacy switch of `nowplaying privacy hide|show` and the admin page, over
`P:privacy:hidden`: set while hidden. While it is set the poller's publisher writes every
document with `song: null`; `hide` also publishes that at once through `Store.transition`
(so every open stream says nothing is playing within a second, with no poller running), and
both ask the poller to republish (a `privacy` wake) so that `show` brings the card back
without waiting for the next poll.
"""

from __future__ import annotations

import time
from typing import Any

from shared.document import Document, decode
from shared.store import Store
from shared.wake import Wake

WAKE = Wake.PRIVACY  # the reason on P:wake that asks the poller to republish at once
WAKE_MESSAGE = WAKE  # the owner pages' name for it


async def is_hidden(store: Store) -> bool:
    return bool(await store.redis.exists(store.keys.privacy))


async def hidden_since(store: Store) -> int | None:
    """When the switch was turned on (ms epoch), None while it is off; 0 when it is on
    but its value is not a time (hidden since always: the safe reading)."""
    raw: Any = await store.redis.get(store.keys.privacy)
    if raw is None:
        return None
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return int(text) if text.isascii() and text.isdigit() else 0


async def set_hidden(store: Store, hidden: bool, *, delayed: bool = False) -> None:
    """Flip the switch; hiding also publishes nothing-playing at once. Either way the
    poller is woken to republish what the switch now allows. `delayed`: PRIVACY_DELAY is
    set (see `republish_live`)."""
    if hidden:
        await store.redis.set(store.keys.privacy, str(int(time.time() * 1000)))
        await publish_nothing(store, int(time.time() * 1000))
    else:
        await store.redis.delete(store.keys.privacy)
        await republish_live(store, int(time.time() * 1000), delayed=delayed)
    await store.redis.publish(store.keys.wake, WAKE)


async def publish_nothing(store: Store, now_ms: int) -> Document | None:
    """A new version with `song: null` (the rest of the document kept), unless it is one."""

    def change(stored: Document | None) -> Document | None:
        if stored is not None and stored["song"] is None:
            return None
        if stored is None:
            return {
                "version": 1,
                "updatedAt": now_ms,
                "stale": False,
                "demo": False,
                "pausedUntil": None,
                "song": None,
            }
        return stored | {"version": stored["version"] + 1, "updatedAt": now_ms, "song": None}

    return await store.transition(change)


async def republish_live(store: Store, now_ms: int, *, delayed: bool = False) -> Document | None:
    """`show`: what readers would see without the switch back in P:current at once: the
    delay line's last output (P:live:shown) under PRIVACY_DELAY, else the live document
    (P:live). Nothing to bring back (no poller ever published): None. Under the delay
    (`delayed`, or documents waiting in the line) P:live is never used: it is the live
    document, which no reader may see before its time; the line brings it when due."""
    raw: Any = await store.redis.get(shown_key(store))
    if raw is None:
        waiting = delayed or bool(await store.redis.exists(delay_key(store)))
        raw = None if waiting else await store.redis.get(store.keys.live)
    live = decode(raw) if raw else None
    if live is None or live["song"] is None:
        return None

    def change(stored: Document | None) -> Document | None:
        version = (stored["version"] if stored else 0) + 1
        return live | {"version": version, "updatedAt": now_ms}

    return await store.transition(change)


def delay_key(store: Store) -> str:
    """The pending documents of PRIVACY_DELAY's delay line (a sorted set by due time)."""
    return f"{store.keys.live}:pending"


def shown_key(store: Store) -> str:
    """Under PRIVACY_DELAY: the delay line's last output before the switch's mask (what
    P:current says when the switch is off). Absent without a delay."""
    return f"{store.keys.live}:shown"
