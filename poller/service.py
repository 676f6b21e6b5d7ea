"""The poller process: leadership, scheduling and the poll itself, wired to Redis and httpx.

Decisions live in pure modules (normalize, changes, policy); this module only sequences
I/O. One `Poller` object owns all mutable state of the process.
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
from datetime import datetime, timedelta
from typing import Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from poller import pacing, plan, policy, push_wake
from poller.changes import should_publish
from poller.multisource import Failover
from poller.providers.spotify.normalize import normalize_current, normalize_recent
from poller.providers.spotify.tokens import TokenManager
from shared import setup_errors
from shared.config import Settings
from shared.document import Document, Song
from shared.freshness import needs_poll
from shared.heartbeat import DAY_MS, TOKEN_WARN_DAYS, token_days_left
from shared.pubsub import close_quietly
from shared.quota_store import Pause, QuotaStore
from shared.spotify import (
    Forbidden,
    InvalidClient,
    InvalidGrant,
    NotConnected,
    Paused,
    QuotaExceeded,
    RateLimited,
    SpotifyClient,
    Transient,
    Unauthorized,
)
from shared.store import Store
from shared.tasks import cancel_and_wait

log = logging.getLogger("nowplaying.poller")

LEADER_TTL_MS = 10_000
PUBLISH_FAILURES_STALE = 3  # consecutive failed publishes before the stored song goes stale
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
    ) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.demo = demo
        self.clock = clock
        self.instance_id = instance_id or uuid.uuid4().hex[:12]
        self.rng = random.Random(seed)
        self.spotify = SpotifyClient(
            http=http,
            accounts_url=settings.accounts_url,
            api_url=settings.api_url,
            clock=clock,
        )
        self.tokens = TokenManager(
            store=store,
            spotify=self.spotify,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            env_refresh_token=settings.refresh_token,
            env_access_token=settings.access_token,
            clock_ms=self.now_ms,
        )
        self.scheduler: AsyncIOScheduler | None = None
        self.is_leader = False
        self.state = "starting"
        self.auth_error: str | None = None
        self.setup_error: str | None = None  # a shared.setup_errors cause, for log and /readyz
        self.auth_retry_at_ms = 0
        self.auth_token_seen: str | None = None
        self.failures = 0
        self.last_success_ms: int | None = None
        self.started_ms = self.now_ms()
        self.idle_since_ms: int | None = None
        self.fallback_active = False
        self.recent: Song | None = None
        self.song: Song | None = None
        self.published: Document | None = None
        self.interval_s = settings.poll_interval
        self.token_authorized_at: int | None = None
        self.token_warned_day: int | None = None
        self.outcomes: Counter[str] = Counter()
        self.polls = 0
        self._lock = asyncio.Lock()
        self.leader_ttl_ms = LEADER_TTL_MS
        self.failover = Failover.for_poller(self)  # None: Spotify alone, as before
        self.publish_failures = 0
        self.quota = QuotaStore(store)
        if not demo:  # the built-in simulated player costs no Spotify quota
            self.spotify.reserve = self._reserve_call
        self.used = 0
        self.pause: Pause | None = None
        self.pacing_logged = False
        self.watched = settings.poll_mode == "always"
        self.confirming_204 = False
        self.last_poll_ms: int | None = None
        self.next_poll_ms: int | None = None
        self.wake_task: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def poll_timeout_s(self) -> float:
        """Shorter than the interval, so a hanging poll never overlaps the next one."""
        return self.settings.poll_timeout_s

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start inside the running loop (APScheduler's asyncio scheduler needs one)."""
        self.published = await self._safe(self.store.current())
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        period = min(self.leader_ttl_ms / 3000, self.settings.poll_interval)
        scheduler.add_job(
            self.keepalive,
            IntervalTrigger(seconds=period),
            id="keepalive",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        self.scheduler = scheduler
        self.wake_task = asyncio.create_task(self._listen_for_wakes())
        await self.keepalive()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.wake_task is not None:
            await cancel_and_wait([self.wake_task])
            self.wake_task = None
        await push_wake.stop(self)
        async with asyncio.timeout(1.0):
            with contextlib.suppress(Exception):
                await self._flush_stats()
                if self.is_leader:
                    await self.store.release_leadership(self.instance_id)
        self.is_leader = False

    def _schedule_poll(self, delay_s: float) -> None:
        """The driver hook: APScheduler here; the week benchmark overrides it."""
        self.next_poll_ms = self.now_ms() + int(delay_s * 1000)
        if self.scheduler is None:
            return
        self.scheduler.add_job(
            self.tick,
            DateTrigger(run_date=datetime.now().astimezone() + timedelta(seconds=delay_s)),
            id="poll",
            replace_existing=True,
            max_instances=1,
            misfire_grace_time=None,
        )

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
            self._schedule_poll(0)
        elif not leader and self.is_leader:
            log.info("this poller (%s) lost leadership", self.instance_id)
        self.is_leader = leader
        if leader:
            await self._safe(self._write_heartbeat())

    async def _write_heartbeat(self) -> None:
        record = await self.store.refresh_record()
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
                "pausedUntil": self.pause.until_ms if self.pause else None,
                "pauseReason": self.pause.reason if self.pause else None,
                "calls24h": self.used,
                "budget": self.settings.daily_budget,
                "watched": self.watched,
                "sources": self.failover.states() if self.failover else None,
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
        except Exception:
            log.exception("unexpected error in the poll loop")
            self.failures += 1
            delay = policy.backoff_delay(self.failures, self.settings.poll_interval, self.rng)
        finally:
            self._schedule_poll(delay)

    async def poll_round(self) -> float:
        """One poll of every due source (the failover), or of Spotify alone as before."""
        return await (self.failover.poll(self) if self.failover else self.poll_once())

    async def poll_once(self) -> float:
        """Poll Spotify, publish on change, and return seconds until the next poll."""
        self.polls += 1
        now = self.now_ms()
        settings = self.settings
        if not (
            setup_errors.configured(settings.client_id, settings.client_secret)
            or settings.access_token
        ):
            return await self._not_configured()
        if now < self.spotify.blocked_until_s * 1000:
            return await self._failed("rate_limited", self.spotify.blocked_until_s - now / 1000)
        if self.auth_error and not await self._auth_retry_due(now):
            return await self._failed("auth_error", self.settings.poll_interval)
        try:
            async with asyncio.timeout(self.poll_timeout_s):
                song = await self._fetch()
        except Paused as exc:
            return await self._paused(exc)
        except RateLimited as exc:
            log.warning("Spotify answered 429: no calls for %.0f s", exc.until_s - self.clock())
            return await self._failed("rate_limited", max(0.0, exc.until_s - self.clock()))
        except InvalidGrant:
            return await self._auth_failed(setup_errors.INVALID_GRANT)
        except InvalidClient:
            return await self._auth_failed(setup_errors.INVALID_CLIENT)
        except NotConnected:
            return await self._auth_failed(setup_errors.NO_REFRESH_TOKEN)
        except Forbidden as exc:
            cause = setup_errors.from_forbidden(exc.message)
            if cause is not None:
                return await self._auth_failed(cause)
            return await self._transient_failed(str(exc), None)
        except (Transient, Unauthorized, TimeoutError) as exc:
            reason = "timeout" if isinstance(exc, TimeoutError) else str(exc)
            unreachable = isinstance(exc, TimeoutError) or getattr(exc, "unreachable", False)
            return await self._transient_failed(
                reason, setup_errors.UNREACHABLE if unreachable else None
            )
        return await self._succeeded(song)

    async def _transient_failed(self, reason: str, cause: str | None) -> float:
        """Back off; name the cause in the log once per spell when it is a setup problem."""
        if cause is not None and self.setup_error != cause:
            log.warning(setup_errors.log_line(cause))
        self.setup_error = cause
        self.failures += 1
        delay = policy.backoff_delay(self.failures, self.settings.poll_interval, self.rng)
        log.warning("poll failed (%s); next try in %.1f s", reason, delay)
        return await self._failed("error", delay)

    async def _not_configured(self) -> float:
        """No Spotify app configured: stay up and idle, saying so in the heartbeat."""
        if self.setup_error != setup_errors.NOT_CONFIGURED:
            log.warning(setup_errors.log_line(setup_errors.NOT_CONFIGURED))
        self.setup_error = setup_errors.NOT_CONFIGURED
        self.state = "not_connected"
        await self._record("not_connected")
        return policy.AUTH_RETRY_S

    async def _auth_retry_due(self, now: int) -> bool:
        """Retry every 5 minutes, or at once when a new refresh token was stored."""
        record = await self._safe(self.store.refresh_record())
        token = record.token if record else None
        return now >= self.auth_retry_at_ms or (token is not None and token != self.auth_token_seen)

    async def _fetch(self) -> Song | None:
        body = await self._authorized(self.spotify.currently_playing)
        received = self.now_ms()
        song = normalize_current(body, received) if body else None
        if song is not None:
            self.fallback_active = False
            self.confirming_204 = False
            return song
        if body is None and plan.hold_empty_answer(self.song, self.confirming_204):
            # Possibly a stray 204 in the middle of a track: show the item on, confirm soon.
            self.confirming_204 = True
            return self.song
        self.confirming_204 = False
        if not self.fallback_active:
            # recently-played changes only when an item ends, so ask once per idle spell.
            self.recent = normalize_recent(await self._authorized(self.spotify.recently_played))
            self.fallback_active = True
        return self.recent

    async def _authorized(self, call: Callable[[str], Any]) -> Any:
        """A Web API call; on 401, refresh once and retry once."""
        token = await self.tokens.access_token()
        try:
            return await call(token)
        except Unauthorized:
            await self.tokens.invalidate(token)
            return await call(await self.tokens.access_token())

    async def _succeeded(self, song: Song | None) -> float:
        now = self.now_ms()
        if self.auth_error:
            log.info("Spotify authorization works again")
        self.auth_error = None
        self.setup_error = None
        self.failures = 0
        self.last_success_ms = now
        self.state = "ok"
        self.song = song
        if policy.is_playing(song):
            self.idle_since_ms = None
        elif self.idle_since_ms is None:
            self.idle_since_ms = now
        if self.pause is not None:
            log.info("Spotify calls resumed (the %s pause is over)", self.pause.reason)
            self.pause = None
        await self._publish(song, stale=False)
        self.interval_s = await self._plan(now)
        await self._record("ok")
        return self.interval_s

    # -- the budget, demand and wake-ups (issue #10) ------------------------------------

    async def _reserve_call(self, endpoint: str) -> None:
        """Record a Spotify call in the shared budget before it is made, or refuse it."""
        now = self.now_ms()
        try:
            reservation = await self.quota.reserve(now, self.settings.daily_budget)
        except Exception as exc:
            # Without Redis the call cannot be counted, so it is not made.
            raise Transient(f"budget unavailable ({type(exc).__name__})") from None
        self.used = reservation.used
        if reservation.pause is not None:
            raise Paused(reservation.pause.until_ms / 1000, reservation.pause.reason)
        if not pacing.is_pacing(self.used, self.settings.daily_budget):
            self.pacing_logged = False  # so that the next pacing spell is logged again
        elif not self.pacing_logged:
            self.pacing_logged = True
            log.info(
                "pacing: %d of %d Spotify calls used in 24 h; polls grow further apart",
                self.used,
                self.settings.daily_budget,
            )

    async def _paused(self, exc: Paused) -> float:
        """No Spotify call until the pause ends; the document says until when."""
        now = self.now_ms()
        pause = Pause(int(exc.until_s * 1000), exc.reason)
        if isinstance(exc, QuotaExceeded):
            await self._safe(self.quota.set_pause(pause, now))
        if self.pause is None or self.pause.until_ms != pause.until_ms:
            what = "Spotify's daily quota" if pause.reason == "quota" else "SPOTIFY_DAILY_BUDGET"
            log.warning(
                "%s is spent: no Spotify calls for %.0f min", what, (pause.until_ms - now) / 60000
            )
        self.pause = pause
        self.state = "paused"
        await self._publish(self.song, stale=True, keep_song=True)
        await self._record("paused")
        return max(0.2, (pause.until_ms - now) / 1000 + 0.05)

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

    async def _plan(self, now: int) -> float:
        """Read demand and the budget, then ask the pure plan for the next delay."""
        await self.observe_demand(now)
        used = await self._safe(self.quota.calls_24h(now))
        if isinstance(used, int):
            self.used = used
        if self.used >= self.settings.daily_budget:
            spent = await self._safe(self.quota.pause_if_spent(now, self.settings.daily_budget))
            if isinstance(spent, Pause):
                return await self._paused(Paused(spent.until_ms / 1000, spent.reason))
        situation = plan.Situation(
            now_ms=now,
            song=self.song,
            watched=self.watched,
            used=self.used,
            budget=self.settings.daily_budget,
            poll_s=self.settings.poll_interval,
            idle_poll_s=self.settings.idle_poll_interval,
            idle_since_ms=self.idle_since_ms,
            confirming_204=self.confirming_204,
        )
        return plan.next_poll(situation).delay_s

    def on_wake(self, reason: str) -> bool:
        """A view asked for a fresh document: poll now if the last poll is too old, or,
        when a stream opened, no later than a watched poller would. Many requests, one
        poll: the poll job is replaced, never added. True when the poll was moved."""
        if not self.is_leader or self.scheduler_missing():
            return False
        if reason == "push":  # a submission: read the pushed item now, no 1 s coalescing
            return push_wake.request(self)  # (poller/push_wake.py), others keep their plan
        if self.pause is not None and self.failover is None:
            return False  # Spotify may not be called, and nothing else can answer
        now = self.now_ms()
        # The web side judged the document old by the freshness window; a poll within the
        # last second already answers this request and those sent with it.
        recent = self.last_poll_ms is not None and now - self.last_poll_ms < WAKE_COALESCE_MS
        if (reason == "view" and not recent) or needs_poll(self.song, self.last_poll_ms, now):
            at = now
        elif reason == "stream" and self.last_poll_ms is not None:
            interval = pacing.paced_interval(
                self.settings.poll_interval, self.used, self.settings.daily_budget
            )
            at = max(now, self.last_poll_ms + int(interval * 1000))
        else:
            return False
        if self.failover is not None:
            self.failover.due_by(at)  # the scrobblers answer the view too
        if self.next_poll_ms is not None and self.next_poll_ms <= at:
            return False
        self._schedule_poll((at - now) / 1000)
        return True

    def scheduler_missing(self) -> bool:
        return self.scheduler is None

    async def _listen_for_wakes(self) -> None:
        """Follow the wake channel; reconnect quietly when Redis goes away."""
        while True:
            pubsub = self.store.redis.pubsub()
            try:
                await pubsub.subscribe(self.store.keys.wake)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is not None and message.get("type") == "message":
                        data = message["data"]
                        self.on_wake(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(1.0)
            finally:
                await close_quietly(pubsub)

    async def _auth_failed(self, cause: str) -> float:
        """Only the user can fix this: say how once, keep every token, re-check rarely."""
        if self.auth_error != cause:
            log.error(setup_errors.log_line(cause))
        self.auth_error = cause
        self.setup_error = cause
        self.auth_retry_at_ms = self.now_ms() + int(policy.AUTH_RETRY_S * 1000)
        record = await self._safe(self.store.refresh_record())
        self.auth_token_seen = record.token if record else None
        return await self._failed("auth_error", self.settings.poll_interval)

    async def _failed(self, state: str, delay: float) -> float:
        """Keep the last good song; mark it stale once the freshness window has passed."""
        self.state = state
        now = self.now_ms()
        since = self.last_success_ms if self.last_success_ms is not None else self.started_ms
        window = policy.stale_window_ms(self.interval_s)
        if self.auth_error or now - since > window:
            await self._publish(self.song, stale=True, keep_song=True)
        await self._record(state)
        return max(0.2, delay)

    async def _publish(
        self,
        song: Song | None,
        *,
        stale: bool,
        keep_song: bool = False,
        force: bool = False,
        paused_until: int | None = None,
    ) -> None:
        """Store and publish a change. With several sources only the failover publishes
        (`force`), with the pause it chose: none while another source answers."""
        if self.failover is not None and not force:
            return  # with several sources, the failover publishes what it chose
        if self.failover is None:  # Spotify alone: its own pause is the document's
            paused_until = self.pause.until_ms if self.pause is not None else None
        floor = self.published["version"] if self.published else 0
        fallback = self.published
        stale = stale or paused_until is not None

        def change(stored: Document | None) -> Document | None:
            base = stored or fallback
            new_song = (base["song"] if base else None) if keep_song else song
            if stored is not None and not should_publish(
                stored, new_song, stale=stale, demo=self.demo, paused_until=paused_until
            ):
                return None
            version = max(stored["version"] if stored else 0, floor) + 1
            return {
                "version": version,
                "updatedAt": self.now_ms(),
                "stale": stale,
                "demo": self.demo,
                "pausedUntil": paused_until,
                "song": new_song,
            }

        try:
            document = await self.store.transition(change)
        except Exception as exc:
            log.warning("could not publish (redis: %s); will retry", type(exc).__name__)
            self.publish_failures += 1
            if not keep_song and self.publish_failures >= PUBLISH_FAILURES_STALE:
                # What readers have is no longer what plays: say so with the stored song.
                await self._publish(None, stale=True, keep_song=True)
            return
        if not keep_song:
            self.publish_failures = 0
        if document is not None:
            self.published = document

    async def _record(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        await self._flush_stats()

    async def _flush_stats(self) -> None:
        counts: dict[str, int] = {f"poll:{k}": v for k, v in self.outcomes.items()}
        counts |= {f"spotify:{k}": v for k, v in self.spotify.take_calls().items()}
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
