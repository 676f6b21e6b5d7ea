"""Spotify as a source: currently-playing with its quirks, the tokens, and the daily budget.

Everything Spotify-specific the poller knows lives here: the 401-refresh-retry, the stray
204 that is confirmed before it is believed, the recently-played fallback asked once per
idle spell, the 429 gate, QUOTA_EXCEEDED kept in Redis (and the quota it teaches),
SPOTIFY_DAILY_BUDGET reserved before every call, and the setup causes the owner must fix.
The round sees only a song or a SourceError.

Every call goes through one allocator (poller/allocator.py): the schedule after a read
(`next_delay`) and a wake-up (`wake_at`, from Poller.on_wake) both ask it how far apart
calls for freshness may be now, given the calls of the window and the demand this poller
saw in each hour of the last days (`Demand`, kept in Redis).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from poller import allocator, pacing, plan
from poller.policy import AUTH_RETRY_S, IDLE_AFTER_MS, is_playing, played_between
from poller.providers.spotify.client import WebApiClient
from poller.providers.spotify.normalize import normalize_current, normalize_recent
from poller.providers.spotify.tokens import TokenManager
from poller.source import SourceContext, SourceError
from shared import budget, setup_errors
from shared.config import Settings
from shared.document import Provider, Song
from shared.quota_store import LEARNT_TTL_MS, Pause, QuotaStore
from shared.spotify import (
    Forbidden,
    InvalidClient,
    InvalidGrant,
    NotConnected,
    Paused,
    QuotaExceeded,
    RateLimited,
    Transient,
    Unauthorized,
)
from shared.store import Store

log = logging.getLogger("nowplaying.poller")

DEMAND_KINDS = ("watched", "view", "stream")
BUSY_WAKES = 7  # view wake-ups in an hour past which idle wake-ups coalesce wider


class Demand:
    """What this poller saw in the current hour: seconds of demand (music playing while a
    stream is open or within a minute of a view) and fixed calls (every call that demand
    did not ask for). Flushed to Redis once an hour; the profile is read back from it."""

    def __init__(self) -> None:
        self.hour: int | None = None
        self.demand_s = 0.0
        self.fixed = 0
        self.watched_at_ms: int | None = None  # the last read while watched and playing
        self.view_until_ms = 0

    def roll(self, now_ms: int) -> tuple[int, float, float] | None:
        """The finished hour to record, when `now_ms` is in a new one."""
        hour = now_ms // allocator.HOUR_MS
        if self.hour is None:
            self.hour = hour
        if hour == self.hour:
            return None
        done = (self.hour, self.demand_s, float(self.fixed))
        self.hour, self.demand_s, self.fixed = hour, 0.0, 0
        return done

    def resume(self, hours: list[tuple[int, float, float]]) -> None:
        """Go on from what a poller before this one recorded of the hour going on (it
        flushed it when it stopped): a poller restarted every hour still learns."""
        for index, demand_s, fixed in hours:
            if index == self.hour:
                self.demand_s += demand_s
                self.fixed += round(fixed)

    def so_far(self) -> tuple[int, float, float] | None:
        """The hour going on as recorded so far, in the profile's shape."""
        return None if self.hour is None else (self.hour, self.demand_s, float(self.fixed))

    def watched(self, now_ms: int, watched: bool, playing: bool) -> None:
        if self.watched_at_ms is not None:
            self.demand_s += min(600_000, now_ms - self.watched_at_ms) / 1000
        self.watched_at_ms = now_ms if watched and playing else None

    def now(self, now_ms: int, playing: bool) -> bool:
        """Whether someone looks while music plays (a stream, a view a minute ago)."""
        return playing and (self.watched_at_ms is not None or self.view_until_ms > now_ms)

    def view(self, now_ms: int, playing: bool) -> None:
        if not playing or self.watched_at_ms is not None:
            return
        until = now_ms + int(allocator.VIEW_INTEREST_S * 1000)
        self.demand_s += (until - max(now_ms, self.view_until_ms)) / 1000
        self.view_until_ms = until


class SpotifySource:
    """Reads what plays on the owner's Spotify account; one per poller."""

    name: Provider = "spotify"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        http: Any,
        clock: Callable[[], float],
        *,
        demo: bool = False,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.client = WebApiClient(
            http=http, accounts_url=settings.accounts_url, api_url=settings.api_url, clock=clock
        )
        # The demo's simulated tokens live under keys of their own, so a demo run on a
        # shared Redis never overwrites (or reads) a token the owner stored.
        self.token_store = store.demo_tokens() if demo else store
        self.tokens = TokenManager(
            store=self.token_store,
            spotify=self.client,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            env_refresh_token=settings.refresh_token,
            env_access_token=settings.access_token,
            clock_ms=self.now_ms,
        )
        self.quota = QuotaStore(store)
        if not demo:  # the built-in simulated player costs no Spotify quota
            self.client.reserve = self._reserve_call
        self.state = "starting"  # the heartbeat's one word for this source
        self.auth_error: str | None = None
        self.setup_error: str | None = None  # a shared.setup_errors cause
        self.auth_retry_at_ms = 0
        self.auth_token_seen: str | None = None
        self.pause: Pause | None = None
        self.used = 0  # calls in the rolling 24 h, as last seen
        self.pacing_logged = False
        self.confirming_204 = False
        self.fallback_active = False
        self.recent: Song | None = None
        self.song: Song | None = None  # the last item this source reported
        self.on_player: Song | None = None  # the last read that found an item on the player
        # The allocator's inputs and its last word.
        self.learnt: int | None = None  # the quota learnt from a QUOTA_EXCEEDED
        self.calls: list[int] = []  # the calls of the window, as last read
        self.profile = allocator.Profile()
        self.profile_hour: int | None = None
        self.allotted_s = settings.poll_interval
        self.last_call_ms: int | None = None  # the last currently-playing call
        self.playing_seen_ms: int | None = None
        self.next_kind = "fixed"  # what the next read is for: "watched", "view", ... or not
        self.end_repolls = 0
        self.failures = 0
        self.demand = Demand()
        self.last_view_ms: int | None = None
        self.view_wakes: deque[int] = deque()  # view wake-ups of the last hour

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def budget(self) -> int:
        """The budget spent: SPOTIFY_DAILY_BUDGET, or less after a quota was learnt."""
        return budget.effective_budget(self.settings.daily_budget, self.learnt)

    @property
    def configured(self) -> bool:
        s = self.settings
        return setup_errors.configured(s.client_id, s.client_secret) or bool(s.access_token)

    # -- the read ------------------------------------------------------------------------

    async def read(self, now_ms: int) -> Song | None:
        """The playing item, the latest played one, or None; SourceError otherwise."""
        if not self.configured:
            return self._not_configured()
        if now_ms < self.client.blocked_until_s * 1000:
            self.state = "rate_limited"
            raise SourceError(
                "rate_limited", "Spotify answered 429", self.client.blocked_until_s - now_ms / 1000
            )
        if self.auth_error and not await self._auth_retry_due(now_ms):
            raise self._auth_error(self.auth_error, self.settings.poll_interval)
        try:
            async with asyncio.timeout(self.settings.poll_timeout_s):
                song = await self._fetch()
        except Paused as exc:
            raise await self._paused(exc) from None
        except RateLimited as exc:
            wait = max(0.0, exc.until_s - self.clock())
            log.warning("Spotify answered 429: no calls for %.0f s", wait)
            self.state = "rate_limited"
            raise SourceError("rate_limited", "Spotify answered 429", wait) from None
        except InvalidGrant:
            raise await self._auth_failed(setup_errors.INVALID_GRANT) from None
        except InvalidClient:
            raise await self._auth_failed(setup_errors.INVALID_CLIENT) from None
        except NotConnected:
            raise await self._auth_failed(setup_errors.NO_REFRESH_TOKEN) from None
        except Forbidden as exc:
            cause = setup_errors.from_forbidden(exc.message)
            if cause is not None:
                raise await self._auth_failed(cause) from None
            raise self._transient(str(exc), None) from None
        except (Transient, Unauthorized, TimeoutError) as exc:
            reason = "timeout" if isinstance(exc, TimeoutError) else str(exc)
            unreachable = isinstance(exc, TimeoutError) or getattr(exc, "unreachable", False)
            raise self._transient(
                reason, setup_errors.UNREACHABLE if unreachable else None
            ) from None
        self._succeeded(song)
        return song

    async def _fetch(self) -> Song | None:
        body = await self._authorized(self.client.currently_playing)
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
            self.recent = normalize_recent(await self._authorized(self.client.recently_played))
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

    def _succeeded(self, song: Song | None) -> None:
        if self.auth_error:
            log.info("Spotify authorization works again")
        if self.pause is not None:
            log.info("Spotify calls resumed (the %s pause is over)", self.pause.reason)
        self.auth_error = self.setup_error = None
        self.pause = None
        self.state = "ok"
        self.failures = 0
        previous, self.song = self.song, song
        now = self.now_ms()
        if is_playing(song) or played_between(self.on_player, song):
            self.playing_seen_ms = now  # music plays, or played since the last read
        if song is not None and song["source"] == "current":
            self.on_player = song
        at_end = plan.seconds_to_end(song, now) == 0.0
        same = previous is not None and song is not None and previous["id"] == song["id"]
        # An item reported at or past its end again: the next poll backs off (stuck_delay).
        self.end_repolls = (self.end_repolls + 1 if same else 1) if at_end else 0

    # -- the schedule --------------------------------------------------------------------

    async def next_delay(
        self, now_ms: int, song: Song | None, idle_since_ms: int | None, watched: bool
    ) -> float:
        """Seconds to the next read after a good one: the pure plan, at the allocator's
        interval. A spent budget that blocks that read (no call frees before it) brings
        it forward: it is refused before any call is made, and the document says until
        when (`pausedUntil`). One whose window frees a call before the planned read blocks
        nothing: the read waits for its plan, and each freed call is not taken the moment
        it frees (which, at the edge of a spent window, spent calls at yesterday's pace and
        flipped the document paused every few seconds, 35 h of a week on one overbudget
        week of bench/weeks.py)."""
        await self._allocate(now_ms, watched, is_playing(song))
        situation = plan.Situation(
            now_ms=now_ms,
            song=song,
            watched=watched,
            used=self.used,
            budget=self.budget,
            poll_s=self.settings.poll_interval,
            idle_poll_s=self.settings.idle_poll_interval,
            idle_since_ms=idle_since_ms,
            confirming_204=self.confirming_204,
            allotted_s=self.allotted_s,
            end_repolls=self.end_repolls,
            views_coming=self._views_keep_coming(now_ms),
        )
        chosen = plan.next_poll(situation)
        self.next_kind = chosen.reason
        if self.used >= self.budget:
            frees_ms = budget.resume_at(self.calls, self.budget, now_ms)
            if frees_ms > now_ms + chosen.delay_s * 1000:
                spent = await _quietly(self.quota.pause_if_spent(now_ms, self.budget))
                if isinstance(spent, Pause):
                    return plan.MIN_DELAY_S
        return chosen.delay_s

    def _views_keep_coming(self, now_ms: int) -> bool:
        """Whether an unwatched track end is worth a call now (allocator.end_for_views)."""
        while self.view_wakes and self.view_wakes[0] <= now_ms - allocator.HOUR_MS:
            self.view_wakes.popleft()
        since = None if self.last_view_ms is None else (now_ms - self.last_view_ms) / 1000
        return allocator.end_for_views(len(self.view_wakes), since)

    async def _allocate(self, now_ms: int, watched: bool, playing: bool) -> None:
        """Refresh the allocator's inputs from Redis and its interval."""
        self.demand.watched(now_ms, watched, playing)
        done = self.demand.roll(now_ms)
        if done is not None:
            await _quietly(self.quota.add_profile(*done))
        hour = now_ms // allocator.HOUR_MS
        if self.profile_hour != hour:
            hours = await _quietly(self.quota.profile_hours())
            if isinstance(hours, list):
                if self.profile_hour is None:
                    self.demand.resume(hours)
                self.profile_hour = hour
                # The hour going on is not one of the days yet (a stopped poller's part).
                self.profile = allocator.profile_from([h for h in hours if h[0] < hour])
            learnt = await _quietly(self.quota.learnt())
            self.learnt = learnt if isinstance(learnt, int) else self.learnt
        calls = await _quietly(self.quota.calls_window(now_ms))
        if isinstance(calls, list):
            self.calls = calls
            self.used = len(calls)
        self.allotted_s = allocator.interval_s(
            self.calls,
            self.budget,
            now_ms,
            self.profile,
            self.settings.poll_interval,
            demand_now=self.demand.now(now_ms, playing),
        )

    async def flush_demand(self) -> None:
        """Record the hour going on so far, for the poller that takes over (on stop)."""
        so_far = self.demand.so_far()
        if so_far is not None:
            await self.quota.add_profile(*so_far)

    def wake_at(self, reason: str, at_ms: int, now_ms: int) -> int:
        """When a wake-up (a view, a new stream) the poller would answer at `at_ms` may
        cost a call: no sooner than the allocator's interval after the last call (after
        ten idle minutes, IDLE_WAKE_S), so that wake-ups coalesce wider as calls run short."""
        playing = is_playing(self.song)
        if reason == "view":
            self.demand.view(now_ms, playing)
            self.last_view_ms = now_ms
            self.view_wakes.append(now_ms)
        while self.view_wakes and self.view_wakes[0] <= now_ms - allocator.HOUR_MS:
            self.view_wakes.popleft()
        busy = len(self.view_wakes) >= BUSY_WAKES
        seen, song = self.playing_seen_ms, self.song
        stopped = song is None or song["source"] == "recent"  # not a pause: nothing is on
        idle = not playing and (stopped or seen is None or now_ms - seen >= IDLE_AFTER_MS)
        idle = idle and reason == "view"  # a new stream is watching: no idle coalescing
        earliest = allocator.demand_call_at(
            self.last_call_ms, now_ms, self.allotted_s, idle=idle, busy=busy
        )
        return max(at_ms, earliest)

    def woken(self, reason: str) -> None:
        """The next read answers a wake-up: a demand call."""
        self.next_kind = reason

    def resume(self, song: Song | None, last_poll_ms: int) -> None:
        """A new leader or a restart took over a fresh stored document: carry on from it."""
        self.song = song
        self.last_call_ms = last_poll_ms
        self.fallback_active = song is not None and song["source"] == "recent"
        if song is not None and song["source"] == "recent":
            self.recent = song
        if is_playing(song):
            self.playing_seen_ms = last_poll_ms

    def paced_interval(self) -> float:
        """The watched interval the allocator allows now (a new stream waits no longer)."""
        return max(self.settings.poll_interval, self.allotted_s)

    # -- the budget ----------------------------------------------------------------------

    async def _reserve_call(self, endpoint: str) -> None:
        """Record a Spotify call in the shared budget before it is made, or refuse it."""
        now = self.now_ms()
        try:
            reservation = await self.quota.reserve(now, self.budget)
        except Exception as exc:
            # Without Redis the call cannot be counted, so it is not made.
            raise Transient(f"budget unavailable ({type(exc).__name__})") from None
        self.used = reservation.used
        if reservation.pause is not None:
            raise Paused(reservation.pause.until_ms / 1000, reservation.pause.reason)
        self.calls.append(now)
        if endpoint == "currently-playing":
            self.last_call_ms = now
        if endpoint != "currently-playing" or self.next_kind not in DEMAND_KINDS:
            self.demand.fixed += 1
        if not pacing.is_pacing(self.used, self.budget):
            self.pacing_logged = False  # so that the next pacing spell is logged again
        elif not self.pacing_logged:
            self.pacing_logged = True
            log.info(
                "pacing: %d of %d Spotify calls used in 24 h; polls grow further apart",
                self.used,
                self.budget,
            )

    async def _paused(self, exc: Paused) -> SourceError:
        """No Spotify call until the pause ends; the document says until when."""
        now = self.now_ms()
        pause = Pause(int(exc.until_s * 1000), exc.reason)
        if isinstance(exc, QuotaExceeded):
            stored = await _quietly(
                self.quota.quota_exceeded(pause.until_ms, now, self.settings.daily_budget)
            )
            pause = stored if isinstance(stored, Pause) else pause
            learnt = await _quietly(self.quota.learnt())
            if isinstance(learnt, int) and learnt != self.learnt:
                self.learnt = learnt
                log.warning(
                    "Spotify's quota is about %d calls a day (QUOTA_EXCEEDED after %d): "
                    "the budget is %d for the next %d days, not SPOTIFY_DAILY_BUDGET=%d",
                    learnt,
                    learnt,
                    self.budget,
                    LEARNT_TTL_MS // 86_400_000,
                    self.settings.daily_budget,
                )
        what = "Spotify's daily quota" if pause.reason == "quota" else "SPOTIFY_DAILY_BUDGET"
        if self.pause is None or self.pause.until_ms != pause.until_ms:
            log.warning(
                "%s is spent: no Spotify calls for %.0f min", what, (pause.until_ms - now) / 60000
            )
        self.pause = pause
        self.state = "paused"
        return SourceError(
            "paused",
            f"Spotify may not be called ({what} is spent)",
            max(0.0, (pause.until_ms - self.now_ms()) / 1000),  # after the Redis calls
        )

    # -- what only the owner can fix -----------------------------------------------------

    def _not_configured(self) -> Song | None:
        """No Spotify app configured: stay up and idle, saying so in the heartbeat."""
        if self.setup_error != setup_errors.NOT_CONFIGURED:
            log.warning(setup_errors.log_line(setup_errors.NOT_CONFIGURED))
        self.setup_error = setup_errors.NOT_CONFIGURED
        self.state = "not_connected"
        raise SourceError(
            "config", "no Spotify app configured", AUTH_RETRY_S, setup_errors.NOT_CONFIGURED
        )

    async def _auth_retry_due(self, now: int) -> bool:
        """Retry every 5 minutes, or at once when a new refresh token was stored."""
        record = await _quietly(self.token_store.refresh_record())
        token = record.token if record else None
        return now >= self.auth_retry_at_ms or (token is not None and token != self.auth_token_seen)

    async def _auth_failed(self, cause: str) -> SourceError:
        """Only the user can fix this: say how once, keep every token, re-check rarely."""
        if self.auth_error != cause:
            log.error(setup_errors.log_line(cause))
        self.auth_error = self.setup_error = cause
        self.auth_retry_at_ms = self.now_ms() + int(AUTH_RETRY_S * 1000)
        record = await _quietly(self.token_store.refresh_record())
        self.auth_token_seen = record.token if record else None
        return self._auth_error(cause, self.settings.poll_interval)

    def _auth_error(self, cause: str, recheck_s: float) -> SourceError:
        """Re-checked every `recheck_s` (a Redis read, no call): a token stored by /login
        or `nowplaying auth` is used at once."""
        self.state = "auth_error"
        message = f"Spotify refused the credentials ({cause}): reconnect"
        return SourceError("auth", message, recheck_s, cause)

    def _transient(self, reason: str, cause: str | None) -> SourceError:
        """Back off (the round's slot does); name a setup cause in the log once per spell."""
        if cause is not None and self.setup_error != cause:
            log.warning(setup_errors.log_line(cause))
        self.setup_error = cause
        self.state = "error"
        self.failures += 1
        log.warning("Spotify poll failed (%s)", reason)
        wait = allocator.outage_delay(self.failures) or None  # an outage: bounded retries
        return SourceError("unavailable", f"Spotify poll failed ({reason})", wait, cause)

    def take_calls(self) -> dict[str, int]:
        return dict(self.client.take_calls())

    @property
    def playing(self) -> bool:
        return is_playing(self.song)


async def _quietly(coro: Any) -> Any:
    """A Redis call whose failure must not stop a read (Redis may come back)."""
    try:
        return await coro
    except Exception as exc:  # redis errors of every kind, fakeredis' included
        log.warning("redis unavailable: %s", type(exc).__name__)
        return None


def build(context: SourceContext) -> SpotifySource:
    """Always built when named, configured or not: unconfigured, it says what to set."""
    return SpotifySource(
        context.settings, context.store, context.http, context.clock, demo=context.demo
    )
