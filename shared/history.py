"""The play history in Redis: written by the poller's publisher, read by /api/history and
/history.svg. One sorted set, `P:history`, of session ids scored by `endedAt` (ms), and
the sessions' JSON in the hash `P:history:items`; the poller's open session (not yet
ended) under `P:history:open`.

Why a sorted set and not a stream: a session is written once, when it ends, with an id
derived from what it is (item and start), so a second poller closing the same session
writes the same member again (ZADD and HSET are idempotent); readers page newest first by
`endedAt` with a score cursor, and filter "ended at least PRIVACY_DELAY ago" in the same
range query. A stream's ids are assigned on write, so the same session added twice would
be two entries.
"""

from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from shared.json_object import json_object
from shared.store import Store

PAGE_MAX = 100


class Session(TypedDict):
    id: str
    provider: str
    type: str
    name: str
    artists: list[str]
    album: str
    url: str | None
    imageUrl: str | None
    startedAt: int  # ms since the epoch, like the document's updatedAt
    endedAt: int
    listenedMs: int
    durationMs: int | None
    skipped: bool
    source: str  # the document's `source` of the observations: "current"
    # Kept in Redis, not listed: the item's `explicit` (null where the provider has none),
    # for /api/history's ?explicit=hide; sessions recorded before it lack it.
    explicit: NotRequired[bool | None]


def items_key(store: Store) -> str:
    return f"{store.keys.history}:items"


def open_key(store: Store) -> str:
    return f"{store.keys.history}:open"


async def add_sessions(store: Store, sessions: list[Session], limit: int) -> None:
    """Record ended sessions (idempotent by id) and drop the oldest past `limit`."""
    if not sessions:
        return
    redis = store.redis
    async with redis.pipeline(transaction=True) as pipe:
        for session in sessions:
            pipe.hset(items_key(store), session["id"], json.dumps(session, ensure_ascii=False))
            pipe.zadd(store.keys.history, {session["id"]: session["endedAt"]})
        await pipe.execute()
    extra: Any = await redis.zcard(store.keys.history)
    if int(extra) <= limit:
        return
    dropped: list[Any] = await redis.zrange(store.keys.history, 0, int(extra) - limit - 1)
    if dropped:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zrem(store.keys.history, *dropped)
            pipe.hdel(items_key(store), *dropped)
            await pipe.execute()


def parse_cursor(value: str | None) -> int | None:
    """`?before=`: the `endedAt` (ms) of the last item of the previous page; ValueError."""
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise ValueError("before must be the `next` cursor of a previous page")
    return int(text)


async def read_page(
    store: Store, *, limit: int, before: int | None, visible_until_ms: int
) -> tuple[list[Session], int | None]:
    """Newest first: sessions that ended before `before` (exclusive) and no later than
    `visible_until_ms` (PRIVACY_DELAY); and the cursor of the next page, or None."""
    top = visible_until_ms if before is None else min(visible_until_ms, before - 1)
    if top < 0:
        return [], None
    ids: list[Any] = await store.redis.zrevrangebyscore(
        store.keys.history, top, "-inf", start=0, num=limit + 1
    )
    more = len(ids) > limit
    ids = ids[:limit]
    raws: list[Any] = await store.redis.hmget(items_key(store), ids) if ids else []
    sessions = [s for s in (_decode(raw) for raw in raws) if s is not None]
    cursor = sessions[-1]["endedAt"] if more and sessions else None
    return sessions, cursor


def _decode(raw: object) -> Session | None:
    value = json_object(raw)
    if value is None or not isinstance(value.get("endedAt"), int):
        return None
    session: Session = value  # type: ignore[assignment]
    return session
