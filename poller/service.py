"""The poller process: leadership, the round's schedule and publishing, wired to Redis.

Decisions live in pure modules (plan, failover, changes, policy) and each provider's
folder (poller/providers/); this module only sequences I/O. One `Poller` object owns the
process's mutable state apart from what each source keeps for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from poller import policy, push_wake
from poller.failover import Choice
from poller.providers import build_sources
from poller.providers.spotify.source import SpotifySource
from poller.publisher import PUBLISH_FAILURES_STALE as PUBLISH_FAILURES_STALE
from poller.publisher import Publisher
from poller.round import Round
from poller.source import SourceContext
from poller.timer import SchedulerTimer, Timer
from shared import stats
from shared.config import Settings
from shared.document import Document, Song
from shared.freshness import needs_poll
from shared.heartbeat import DAY_MS, TOKEN_WARN_DAYS, token_days_left
from shared.pubsub import subscribe
from shared.quota_store import Pause, QuotaStore
from shared.store import Store
from shared.tasks import cancel_and_wait
from shared.wake import Wake

log = logging.getLogger("nowplaying.poller")

LEADER_TTL_MS = 10_000
WAKE_COALESCE_MS = 1000


class Poller:
    """Owns the poll loop of one process; several may share a Redis, one leads."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        http: httpx.AsyncClient,
        *,
        demo: bool = False,
        clock: Callable[[], float] = time.time,
        instance_id: str | None = None,
        seed: int | None = None,
        timer: Timer | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.demo = demo
        self.clock = clock
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self.rng = random.Random(seed)
        context = SourceContext(settings, http, clock, store, demo)
        sources = build_sources(context)
        if not sources:  # nothing configured: Spotify's source says what to set
            sources = [SpotifySource(settings, store, http, clock, demo=demo)]
        self.round = Round(
            sources,
            poll_s=settings.poll_interval,
            idle_s=settings.idle_poll_interval,
            timeout_s=settings.poll_timeout_s,
            clock_ms=self.now_ms,
            rng=self.rng,
        )
        found = [s for s in sources if isinstance(s, SpotifySource)]
        self.spotify: SpotifySource | None = found[0] if found else None
        self.timer = timer
        self.is_leader = False
        self.last_success_ms: int | None = None
        self.started_ms = self.now_ms()
        self.published: Document | None = None
        self.outcomes: Counter[str] = Counter()
        self.polls = 0
        self.loop_failures = 0  # rounds that raised: a bug, backed off like an outage
        self._lock = asyncio.Lock()
        self.leader_ttl_ms = LEADER_TTL_MS
        self.publisher = Publisher(
            settings,
            store,
            demo=demo,
            now_ms=self.now_ms,
            context=lambda: self.spotify.client.context if self.spotify else (None, None),
            leading=lambda: self.is_leader,
        )
        self.quota = QuotaStore(store)
        self.token_authorized_at: int | None = None
        self.token_warned_day: int | None = None
        self.watched = settings.poll_mode == "always"
        self.last_poll_ms: int | None = None
        self.next_poll_ms: int | None = None
        self.wake_task: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def poll_timeout_s(self) -> float:
        """Shorter than the interval, so a hanging poll never overlaps the next one."""
        return self.settings.poll_timeout_s

    # -- what the heartbeat and the tests read ------------------------------------------

    @property
    def state(self) -> str:
        """One word: Spotify's own while it is configured and nothing else answers for
        it; else "ok" when a source answers, "error" when none does."""
        choice = self.round.choice
        chosen = choice.provider if choice else None
        if self.spotify is not None and chosen in (None, "spotify"):
            return self.spotify.state
        return "ok" if chosen else ("starting" if choice is None else "error")

    @property
    def song(self) -> Song | None:
        """The song the last round chose (None: nothing, or no source answers)."""
        choice = self.round.choice
        return choice.song if choice else None

    @property
    def auth_error(self) -> str | None:
        return self.spotify.auth_error if self.spotify else None

    @property
    def setup_error(self) -> str | None:
        return self.spotify.setup_error if self.spotify else None

    @property
    def pause(self) -> Pause | None:
        return self.spotify.pause if self.spotify else None

    @property
    def failures(self) -> int:
        """Failed reads in a row of the preferred source."""
        return self.round.slots[self.round.order[0]].failures

    @property
    def used(self) -> int:
        return self.spotify.used if self.spotify else 0

    @property
    def interval_s(self) -> float:
        """The delay planned after the last round (the heartbeat reports it)."""
        if self.next_poll_ms is None or self.last_poll_ms is None:
            return self.settings.poll_interval
        return max(0.0, (self.next_poll_ms - self.last_poll_ms) / 1000)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start inside the running loop (APScheduler's asyncio scheduler needs one)."""
        self.published = await self._safe(self.store.current())
        if self.timer is None:
            self.timer = SchedulerTimer()
        self.timer.every(
            min(self.leader_ttl_ms / 3000, self.settings.poll_interval), self.keepalive
        )
        self.wake_task = asyncio.create_task(self._listen_for_wakes())
        await self.publisher.start()
        await self.keepalive()

    async def stop(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None
        if self.wake_task is not None:
            await cancel_and_wait([self.wake_task])
            self.wake_task = None
        await self.publisher.stop()
        await push_wake.stop(self)
        # Each step bounded and on its own: a slow or failing flush never keeps the lock
        # held until its TTL, and stop() never raises (TimeoutError is an Exception).
        with contextlib.suppress(Exception):
            async with asyncio.timeout(0.5):
                await self._flush_stats()
                if self.is_leader and self.spotify is not None:
                    await self.spotify.flush_demand()
        if self.is_leader:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self.store.release_leadership(self.instance_id)
        self.is_leader = False

    def _schedule_poll(self, delay_s: float) -> None:
        """The one poll job, moved (never added): the timer runs `tick` then."""
        self.next_poll_ms = self.now_ms() + int(delay_s * 1000)
        if self.timer is not None:
            self.timer.once(delay_s, self.tick)

    async def _safe(self, coro: Any) -> Any:
        """A Redis call whose failure must not stop the poller (Redis may come back)."""
        try:
            return await coro
        except Exception as exc:  # redis errors of every kind, fakeredis' included
            log.warning("redis unavailable: %s", type(exc).__name__)
            return None

    # -- leadership and liveness ----------------------------------------------------------

    async def keepalive(self) -> None:
        """Renew or take leadership; the leader writes the heartbeat readers check."""
        try:
            leader = await self.store.acquire_leadership(self.instance_id, self.leader_ttl_ms)
        except Exception as exc:
            log.warning("redis unavailable: %s", type(exc).__name__)
            return
        if leader and not self.is_leader:
            log.info("this poller (%s) leads now", self.instance_id)
            self.published = await self._safe(self.store.current()) or self.published
            self._schedule_poll(await self._resume_delay())
        elif not leader and self.is_leader:
            log.info("this poller (%s) lost leadership", self.instance_id)
        self.is_leader = leader
        if leader:
            await self._safe(self._write_heartbeat())

    async def _write_heartbeat(self) -> None:
        tokens = self.spotify.token_store if self.spotify is not None else self.store
        record = await tokens.refresh_record()
        self.token_authorized_at = record.authorized_at
        now = self.now_ms()
        days = token_days_left(record.authorized_at, now)
        if days is not None and days <= TOKEN_WARN_DAYS and self.token_warned_day != now // DAY_MS:
            self.token_warned_day = now // DAY_MS
            log.warning(
                "the Spotify refresh token expires in %.1f days: reconnect with "
                "`nowplaying auth` or /login before then",
                max(0.0, days),
            )
        pause = self.pause
        await self.store.write_heartbeat(
            {
                "at": now,
                "instance": self.instance_id,
                "state": self.state,
                "authError": self.auth_error,
                "setupError": self.setup_error,
                "lastSuccessAt": self.last_success_ms,
                "pollInterval": self.settings.poll_interval,
                "interval": self.interval_s,
                "tokenAuthorizedAt": record.authorized_at,
                "demo": self.demo,
                "pausedUntil": pause.until_ms if pause else None,
                "pauseReason": pause.reason if pause else None,
                "calls24h": self.used,
                "budget": self.spotify.budget if self.spotify else self.settings.daily_budget,
                "watched": self.watched,
                "sources": self.round.states() if self.round.order != ("spotify",) else None,
            }
        )

    # -- the poll -------------------------------------------------------------------------

    async def tick(self) -> None:
        """One scheduled step; always schedules the next one."""
        delay = self.settings.poll_interval
        try:
            if not self.is_leader:
                delay = self.leader_ttl_ms / 3000
                return
            async with self._lock:
                delay = await self.poll_round()
            self.loop_failures = 0
        except Exception:
            log.exception("unexpected error in the poll loop")
            self.loop_failures += 1
            delay = policy.backoff_delay(self.loop_failures, self.settings.poll_interval, self.rng)
        finally:
            self._schedule_poll(delay)

    async def poll_once(self) -> float:
        """Read every source now, whatever its schedule, and publish: one round on demand
        (the tests' and the benchmarks' step). Seconds until the next round is due."""
        self.round.due_by(self.now_ms())
        return await self.poll_round()

    async def poll_round(self) -> float:
        """Read the due sources, publish what the failover chose; seconds to the next."""
        now = self.now_ms()
        if self.round.due(now):
            self.polls += 1
            await self.observe_demand(now)
            await self.round.read_due(self.watched)
        choice = self.round.choose()
        if choice.provider is not None:
            self.last_success_ms = self.round.statuses()[choice.provider].ok_at_ms
        if not self._holding(choice):
            await self._publish_choice(choice)
        await self._record(self.state)
        return max(0.2, (self.round.next_due_ms() - self.now_ms()) / 1000)

    def _holding(self, choice: Choice) -> bool:
        """Whether to publish nothing yet although no source answers: with nothing
        configured there is nothing to say, and a failure within the freshness window
        after the last success (or the start) does not make the data stale yet. A source
        refusing the credentials, or a pause, is said at once."""
        if choice.provider is not None or choice.paused_until is not None:
            return False
        statuses = self.round.statuses().values()
        if any(s.error == "auth" for s in statuses):
            return False
        if all(s.error == "config" for s in statuses):
            return True
        since = self.last_success_ms if self.last_success_ms is not None else self.started_ms
        return self.now_ms() - since <= policy.stale_window_ms(self.interval_s)

    async def _publish_choice(self, choice: Choice) -> None:
        await self._publish(
            choice.song,
            stale=choice.stale,
            keep_song=choice.provider is None,
            paused_until=choice.paused_until,
        )

    async def observe_demand(self, now: int) -> None:
        """Record this poll (the web's freshness check reads it) and whether anyone watches:
        every source's schedule follows it (POLL_MODE)."""
        await self._safe(self.quota.set_last_poll(now))
        self.last_poll_ms = now
        if self.settings.poll_mode == "always":
            self.watched = True
        else:
            demand = await self._safe(self.quota.demand(now))
            self.watched = bool(demand)

    # -- wake-ups -------------------------------------------------------------------------

    def on_wake(self, reason: str) -> bool:
        """A view asked for a fresh document: poll now if the last poll is too old, or,
        when a stream opened, no later than a watched poller would. Many requests, one
        poll: the poll job is replaced, never added. True when the poll was moved."""
        if self.publisher.on_wake(reason):  # `privacy`: hide/show republishes at once
            return False
        if not self.is_leader or self.scheduler_missing():
            return False
        if reason == Wake.PUSH:  # a submission: read the pushed item now, no 1 s coalescing
            return push_wake.request(self)  # (poller/push_wake.py), others keep their plan
        now = self.now_ms()
        if self.round.order == ("spotify",) and self.pause is not None:
            return False  # Spotify may not be called, and nothing else can answer
        # The web side judged the document old by the freshness window; a poll within the
        # last second already answers this request and those sent with it.
        recent = self.last_poll_ms is not None and now - self.last_poll_ms < WAKE_COALESCE_MS
        if (reason == Wake.VIEW and not recent) or needs_poll(self.song, self.last_poll_ms, now):
            at = now
        elif reason == Wake.STREAM and self.last_poll_ms is not None:
            interval = (
                self.spotify.paced_interval() if self.spotify else self.settings.poll_interval
            )
            at = max(now, self.last_poll_ms + int(interval * 1000))
        else:
            return False
        if self.spotify is not None:  # the allocator: when this wake-up may cost a call
            at = self.spotify.wake_at(reason, at, now)
        self.round.due_by(at)
        if self.next_poll_ms is not None and self.next_poll_ms <= at:
            return False
        if self.spotify is not None:
            self.spotify.woken(reason)
        self._schedule_poll((at - now) / 1000)
        return True

    async def _resume_delay(self) -> float:
        """A new leader (or a restart) whose stored document is fresh carries on from it:
        the first poll comes when the last leader planned its next one, not at once."""
        last = await self._safe(self.quota.last_poll())
        beat = await self._safe(self.store.heartbeat())
        doc, now = self.published, self.now_ms()
        if self.spotify is None or doc is None or doc["stale"] or not isinstance(last, int):
            return 0.0
        song = doc["song"]
        if beat is None or (song is not None and song["provider"] != "spotify"):
            return 0.0
        planned_s = float(beat["interval"])  # the old leader's plan, its next poll
        at = last + int(planned_s * 1000)
        if at <= now:
            return 0.0
        self.spotify.resume(song, last)
        self.last_poll_ms = last
        for slot in self.round.slots.values():
            slot.due_ms = max(slot.due_ms, at)
        return (at - now) / 1000

    def scheduler_missing(self) -> bool:
        return self.timer is None

    async def _listen_for_wakes(self) -> None:
        """Follow the wake channel; shared/pubsub.py reconnects when Redis goes away."""
        await subscribe(self.store.redis, self.store.keys.wake, self._woken)

    def _woken(self, data: bytes) -> None:
        self.on_wake(data.decode(errors="replace"))

    async def _publish(
        self,
        song: Song | None,
        *,
        stale: bool,
        keep_song: bool = False,
        paused_until: int | None = None,
    ) -> None:
        """Store and publish a change: the round's choice, with the pause it chose (none
        while another source answers). The publisher (poller/publisher.py) does the rest:
        hide rules, the privacy switch, the history, the delay line."""
        self.published = await self.publisher.publish(
            song, stale=stale, keep_song=keep_song, paused_until=paused_until, floor=self.published
        )

    async def _record(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        await self._flush_stats()

    async def _flush_stats(self) -> None:
        counts = {stats.poll_key(k): v for k, v in self.outcomes.items()}
        counts |= self.round.take_calls()
        self.outcomes.clear()
        await self._safe(self.store.add_stats(counts))


async def run_poller(settings: Settings, store: Store, http: httpx.AsyncClient, demo: bool) -> None:
    """Run until SIGTERM or SIGINT, then exit cleanly within 2 s."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    poller = Poller(settings, store, http, demo=demo)
    await poller.start()
    log.info("poller %s started (every %g s)", poller.instance_id, settings.poll_interval)
    await stop.wait()
    log.info("stopping")
    await poller.stop()
