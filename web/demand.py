"""The web side of polling on demand: report open streams, and ask for fresh documents.

Each web process writes how many SSE streams it holds into Redis every few seconds, with
an expiry, so a web process that dies stops counting within DEMAND_TTL_S. A stream that
opens (the count goes up) also sends a wake request at once. One-shot reads call
`fresh()`: when the last poll is older than the freshness window they publish one wake
request (coalesced: one check per process per ASK_EVERY_S, its answer shared by the
views that arrive meanwhile) and, when asked to, wait a bounded time for the poll to land.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from shared.freshness import needs_poll
from shared.quota_store import QuotaStore
from web.hub import Hub

log = logging.getLogger("nowplaying.web")

CHECK_EVERY_S = 0.25
REPORT_EVERY_S = 5.0
DEMAND_TTL_S = 15.0
WAIT_STEP_S = 0.05
ASK_EVERY_S = 1.0


def now_ms() -> int:
    return int(time.time() * 1000)


class Demand:
    """Streams reported to the poller, and wake requests from this web process."""

    def __init__(self, quota: QuotaStore, hub: Hub) -> None:
        self.quota = quota
        self.hub = hub
        self.web_id = uuid.uuid4().hex[:12]
        self.pending: asyncio.Task[int | None] | None = None
        self.last_ask = -ASK_EVERY_S
        self.landed = 0  # the latest asked time whose poll this process saw land

    def ask(self) -> None:
        """Ask without waiting, from the hot JSON route: at most one Redis read per
        ASK_EVERY_S per process, so a flood of requests costs Redis nothing more."""
        moment = time.monotonic()
        if moment - self.last_ask < ASK_EVERY_S:
            return
        self.last_ask = moment
        if self.pending is None or self.pending.done():
            self.pending = asyncio.get_running_loop().create_task(self._quiet_ask())

    async def _quiet_ask(self) -> int | None:
        try:
            return await asyncio.wait_for(self._ask(), 1.0)
        except Exception as exc:
            log.debug("ask(): %s", type(exc).__name__)
            return None

    async def run(self) -> None:
        """Until cancelled: report the stream count on every change and every 5 s."""
        reported, last_report = -1, 0.0
        try:
            while True:
                count = len(self.hub.subscribers)
                moment = time.monotonic()
                if count != reported or moment - last_report >= REPORT_EVERY_S:
                    with contextlib.suppress(Exception):
                        until = now_ms() + int(DEMAND_TTL_S * 1000)
                        await self.quota.report_demand(self.web_id, count, until)
                        if count > reported:
                            await self.quota.request_wake("stream")
                        reported, last_report = count, moment
                await asyncio.sleep(CHECK_EVERY_S)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.quota.withdraw_demand(self.web_id), 1.0)

    async def _ask(self) -> int | None:
        """Publish a wake request if the last poll is too old: the time asked, or None
        when there is nothing to wait for."""
        last = await self.quota.last_poll()
        asked = now_ms()
        if not needs_poll(self.hub.document["song"], last, asked):
            return None
        heard = await self.quota.request_wake("view")
        return asked if heard else None  # no poller listens: nothing to wait for

    async def fresh(self, max_wait: float = 0.0) -> None:
        """Ask for a poll when the document may be old; wait up to `max_wait` s for it.
        Never raises: a view answers with what it has when Redis or the poller is slow."""
        pending = self.pending
        if (
            pending is not None
            and pending.done()
            and not pending.cancelled()
            and time.monotonic() - self.last_ask < ASK_EVERY_S
        ):  # the shared check is recent: most views end here, without a timeout scope
            asked = pending.result()
            if asked is None or max_wait <= 0 or asked <= self.landed:
                return
        try:
            async with asyncio.timeout(max(max_wait, 0.01) + 0.5):
                moment = time.monotonic()
                if self.pending is None or (
                    self.pending.done() and moment - self.last_ask >= ASK_EVERY_S
                ):
                    # One check per ASK_EVERY_S: within it, views share its answer, so a
                    # flood of /now.txt costs Redis no more than one read a second.
                    self.last_ask = moment
                    self.pending = asyncio.create_task(self._quiet_ask())
                asked = await asyncio.shield(self.pending)
                if asked is None or max_wait <= 0 or asked <= self.landed:
                    return
                version = self.hub.version
                deadline = time.monotonic() + max_wait
                while time.monotonic() < deadline:
                    if self.hub.version != version:
                        self.landed = max(self.landed, asked)
                        return
                    last = await self.quota.last_poll()
                    if last is not None and last >= asked:
                        # The poll landed; its publish may still be on its way to the
                        # subscription, so take the stored document now.
                        raw = await self.quota.redis.get(self.quota.keys.current)
                        if isinstance(raw, bytes):
                            self.hub.update(raw)
                        self.landed = max(self.landed, asked)
                        return
                    await asyncio.sleep(WAIT_STEP_S)
        except Exception as exc:
            log.debug("fresh(): %s", type(exc).__name__)
