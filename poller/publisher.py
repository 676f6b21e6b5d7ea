"""The poller's one writer of `P:current`: what the poll chose goes through, in order,

1. the hide rules (PRIVACY_HIDE: a matching item becomes nothing playing) and the privacy
   switch (`nowplaying privacy hide`: everything becomes nothing playing);
2. the history recorder, fed the live, filtered observations (poller/history.py);
3. the delay line (PRIVACY_DELAY): the live document goes to `P:live`; `P:current` gets
   each one D seconds later, its `updatedAt` and `progressAt` shifted by D, so a reader's
   `progressMs + (now - progressAt)` is where the delayed timeline is.

Without a delay, the change goes to `P:current` at once, exactly as `Poller._publish` did
(the same change rule, versions and failure handling); `P:live` still holds the live
document, for `nowplaying privacy show` to bring back at once. Pending delayed documents
live in Redis (`P:live:pending`, a sorted set by due time), so a restart or a new leader
keeps the line; a small task flushes due ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from poller.changes import should_publish
from poller.hide import is_hidden
from poller.history import OpenSession, observe
from shared.config import Settings
from shared.document import Document, Song, decode, encode
from shared.history import add_sessions, open_key
from shared.json_object import json_object
from shared.privacy_switch import WAKE, delay_key, shown_key
from shared.privacy_switch import is_hidden as switch_is_on
from shared.store import Store
from shared.tasks import cancel_and_wait

log = logging.getLogger("nowplaying.poller")

PUBLISH_FAILURES_STALE = 3  # consecutive failed publishes before the stored song goes stale
FLUSH_EVERY_S = 0.25
Context = Callable[[], tuple[str | None, str | None]]


def no_context() -> tuple[str | None, str | None]:
    return (None, None)


def shifted(document: Document, delay_ms: int) -> Document:
    """The document as readers get it D later: its times moved by D, consistently."""
    song = document["song"]
    if song is not None and song["progressAt"] is not None:
        song = song | {"progressAt": song["progressAt"] + delay_ms}
    return document | {"updatedAt": document["updatedAt"] + delay_ms, "song": song}


class Publisher:
    """One per Poller. `publish` is what `Poller._publish` delegates to."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        demo: bool,
        now_ms: Callable[[], int],
        context: Context = no_context,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        self.store = store
        self.demo = demo
        self.now_ms = now_ms
        self.context = context
        self.leading = leading
        self.rules = settings.privacy_hide
        self.delay_ms = int(settings.privacy_delay * 1000)
        self.history_limit = settings.history_limit
        self.publish_failures = 0
        self.hidden = False  # the switch, as last read
        self.live: Document | None = None
        self.out_version = 0  # the last version this publisher wrote to P:current
        self.task: asyncio.Task[None] | None = None
        self.refresh_task: asyncio.Task[Document | None] | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            if self.delay_ms == 0:  # a delay set before and removed: nothing waits now
                await self.store.redis.delete(shown_key(self.store), delay_key(self.store))
        if self.delay_ms > 0:
            self.task = asyncio.create_task(self._flush_forever())

    async def stop(self) -> None:
        tasks: list[asyncio.Task[Any]] = [t for t in (self.task, self.refresh_task) if t]
        await cancel_and_wait(tasks)
        self.task = self.refresh_task = None

    async def _flush_forever(self) -> None:
        while True:
            if self.leading():
                try:
                    await self.flush()
                except Exception as exc:  # Redis away: the line waits in Redis
                    log.debug("delay line flush failed: %s", type(exc).__name__)
            await asyncio.sleep(FLUSH_EVERY_S)

    # -- the one way in ---------------------------------------------------------------

    async def publish(
        self,
        song: Song | None,
        *,
        stale: bool,
        keep_song: bool = False,
        paused_until: int | None = None,
        floor: Document | None = None,
    ) -> Document | None:
        """Publish a change; returns what `P:current` now holds as far as this poller
        knows (`floor` when nothing was written)."""
        stale = stale or paused_until is not None
        await self._read_switch()
        if self.live is None:  # a new process or leader: carry on with the stored one
            with contextlib.suppress(Exception):
                raw: Any = await self.store.redis.get(self.store.keys.live)
                self.live = decode(raw) if raw else None
        if not keep_song:
            song = self._filtered(song)
            await self._record(None if self.hidden else song)
        try:
            if self.delay_ms > 0:
                await self._into_line(song, stale, keep_song, paused_until)
                document = await self.flush(floor)
            else:
                document = await self._at_once(song, stale, keep_song, paused_until, floor)
        except Exception as exc:
            log.warning("could not publish (redis: %s); will retry", type(exc).__name__)
            self.publish_failures += 1
            if not keep_song and self.publish_failures >= PUBLISH_FAILURES_STALE:
                # What readers have is no longer what plays: say so with the stored song.
                return await self.publish(None, stale=True, keep_song=True, floor=floor)
            return floor
        if not keep_song:
            self.publish_failures = 0
        return document or floor

    def _filtered(self, song: Song | None) -> Song | None:
        """PRIVACY_HIDE: a matching item is published as nothing playing."""
        if song is None or not self.rules:
            return song
        context = None
        item_id, uri = self.context()
        if song.get("provider", "spotify") == "spotify" and song["id"] == item_id:
            context = uri
        return None if is_hidden(song, self.rules, context) else song

    async def _read_switch(self) -> None:
        try:
            self.hidden = await switch_is_on(self.store)
        except Exception as exc:  # keep the last known state; the publish will fail too
            log.debug("privacy switch unreadable: %s", type(exc).__name__)

    def _document(
        self, base: Document | None, song: Song | None, stale: bool, keep: bool, paused: int | None
    ) -> Document:
        version = base["version"] if base else 0
        return {
            "version": version + 1,
            "updatedAt": self.now_ms(),
            "stale": stale,
            "demo": self.demo,
            "pausedUntil": paused,
            "song": (base["song"] if base else None) if keep else song,
        }

    async def _at_once(
        self,
        song: Song | None,
        stale: bool,
        keep_song: bool,
        paused_until: int | None,
        floor: Document | None,
    ) -> Document | None:
        """No delay: P:current changes now (masked by the switch); P:live follows."""
        floor_version = floor["version"] if floor else 0
        hidden, live = self.hidden, self.live

        def change(stored: Document | None) -> Document | None:
            base = stored or floor
            if keep_song and hidden:
                base = live or base  # the mask's null is not the song to keep
            new = self._document(base, song, stale, keep_song, paused_until)
            fresh[0] = live is None or should_publish(
                live, new["song"], stale=stale, demo=self.demo, paused_until=paused_until
            )
            if fresh[0]:
                self.live = new
            out_song = None if hidden else new["song"]
            if stored is not None and not should_publish(
                stored, out_song, stale=stale, demo=self.demo, paused_until=paused_until
            ):
                return None
            version = max(stored["version"] if stored else 0, floor_version) + 1
            return new | {"version": version, "song": out_song}

        fresh = [False]
        document = await self.store.transition(change)
        if fresh[0] and self.live is not None:
            await self.store.redis.set(self.store.keys.live, encode(self.live))
        return document

    # -- the history --------------------------------------------------------------------

    async def _record(self, song: Song | None) -> None:
        """Feed the tracker one observation; the open session lives in Redis."""
        try:
            raw: Any = await self.store.redis.get(open_key(self.store))
            state = _open_session(raw)
            step = observe(state, song, self.now_ms())
            await add_sessions(self.store, step.ended, self.history_limit)
            if step.open is None:
                if state is not None:
                    await self.store.redis.delete(open_key(self.store))
            else:
                await self.store.redis.set(open_key(self.store), json.dumps(step.open))
        except Exception as exc:
            log.debug("could not record the history (redis: %s)", type(exc).__name__)

    # -- the delay line -----------------------------------------------------------------

    async def _into_line(
        self, song: Song | None, stale: bool, keep_song: bool, paused_until: int | None
    ) -> None:
        """The live document changes now (P:live) and waits in the line for D."""
        live_key = self.store.keys.live
        raw: Any = await self.store.redis.get(live_key)  # only the leader writes P:live
        stored = decode(raw) if raw else None
        kept = stored["song"] if stored and keep_song else song
        if stored is not None and not should_publish(
            stored, kept, stale=stale, demo=self.demo, paused_until=paused_until
        ):
            return
        new = self._document(stored, song, stale, keep_song, paused_until)
        data = encode(new)
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.set(live_key, data)
            pipe.zadd(delay_key(self.store), {data: new["updatedAt"] + self.delay_ms})
            await pipe.execute()
        self.live = new

    async def flush(self, floor: Document | None = None) -> Document | None:
        """Every document whose time has come: the newest of them goes to P:current
        (above `floor`'s version and every one this publisher wrote: versions never go
        backwards, not even when Redis comes back empty)."""
        now = self.now_ms()
        redis = self.store.redis
        due: list[Any] = await redis.zrangebyscore(delay_key(self.store), "-inf", now)
        if not due:
            return None
        document = decode(due[-1])
        await redis.zremrangebyscore(delay_key(self.store), "-inf", now)
        if document is None:
            return None
        out = shifted(document, self.delay_ms)
        await redis.set(shown_key(self.store), encode(out))
        await self._read_switch()
        return await self._output(out, floor)

    async def _output(self, out: Document, floor: Document | None = None) -> Document | None:
        """`out` into P:current as a new version (masked while the switch is on)."""
        song = None if self.hidden else out["song"]
        least = max(floor["version"] if floor else 0, self.out_version)

        def change(stored: Document | None) -> Document | None:
            if stored is not None and not should_publish(
                stored, song, stale=out["stale"], demo=out["demo"], paused_until=out["pausedUntil"]
            ):
                return None
            version = max(stored["version"] if stored else 0, least) + 1
            return out | {"version": version, "song": song}

        document = await self.store.transition(change)
        if document is not None:
            self.out_version = document["version"]
        return document

    # -- the switch ---------------------------------------------------------------------

    def on_wake(self, reason: str) -> bool:
        """A `privacy` wake (hide or show): republish what the switch now allows, now.
        False for every other reason (the poller's own wake handling goes on)."""
        if reason != WAKE:
            return False
        if self.refresh_task is None or self.refresh_task.done():
            self.refresh_task = asyncio.create_task(self.refresh())
        return True

    async def refresh(self) -> Document | None:
        """The last output again, under the switch as it is now."""
        await self._read_switch()
        raw: Any = None
        with contextlib.suppress(Exception):
            key = shown_key(self.store) if self.delay_ms > 0 else self.store.keys.live
            raw = await self.store.redis.get(key)
        document = decode(raw) if raw else None
        if document is None:
            return None
        if self.delay_ms == 0:
            document = document | {"updatedAt": self.now_ms()}
        try:
            return await self._output(document)
        except Exception as exc:
            log.warning("could not republish (redis: %s)", type(exc).__name__)
            return None


def _open_session(raw: object) -> OpenSession | None:
    value = json_object(raw)
    if value is None or not isinstance(value.get("session"), dict):
        return None
    state: OpenSession = value  # type: ignore[assignment]
    return state
