"""The Redis side of the Spotify budget, the quota pause, demand and wake requests.

Keys (P = REDIS_PREFIX): `P:spotify:calls` a sorted set, one member per call scored by
its time (ms), trimmed to 24 h; `P:spotify:pause` a string `{"until", "reason"}` expiring
at `until`; `P:demand` a hash, one field per web process, `{"streams", "until"}`;
`P:wake` the channel of wake requests; `P:poller:lastpoll` the time of the last poll;
`P:spotify:learnt` `{"quota", "at"}`, the quota learnt from a QUOTA_EXCEEDED (kept 7 days,
so a restart keeps it); `P:spotify:profile` a hash, one field per hour since the epoch,
`"demand_s fixed_calls"`, the last 8 days of what the poller saw (poller/allocator.py).

What must stay true: a call is recorded before it is made, under WATCH on both the call
set and the pause, so two pollers reserving at once cannot both take the last call, and
no call is made during a pause another poller stored.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis.exceptions import WatchError

from shared import budget
from shared.spotify import Paused, QuotaExceeded, Reserve
from shared.store import Store

LEARNT_TTL_MS = 7 * budget.WINDOW_MS
PROFILE_KEEP_HOURS = 8 * 24


@dataclass(frozen=True)
class Pause:
    until_ms: int
    reason: str  # "quota" (Spotify's QUOTA_EXCEEDED) or "budget" (SPOTIFY_DAILY_BUDGET)


@dataclass(frozen=True)
class Reservation:
    allowed: bool
    used: int  # calls in the window, this one included when allowed
    pause: Pause | None


def _pause_from(raw: Any, now_ms: int) -> Pause | None:
    try:
        value = json.loads(raw) if raw else None
        pause = Pause(int(value["until"]), str(value["reason"])) if value else None
    except (ValueError, KeyError, TypeError):
        return None
    return pause if pause is not None and pause.until_ms > now_ms else None


def _later(pause: Pause, decision: budget.Decision) -> Pause:
    """A stored pause, lengthened to the moment a spent budget frees a call."""
    until = decision.paused_until_ms if not decision.allowed else None
    if until is None or until <= pause.until_ms:
        return pause
    return Pause(until, pause.reason)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (ValueError, TypeError):
        return None


class QuotaStore:
    """Budget, pause, demand and wake-ups on one Store's Redis and prefix."""

    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    # -- the budget and the pause -----------------------------------------------------

    async def reserve(self, now_ms: int, limit: int) -> Reservation:
        """Record one call at `now_ms` if the budget and any pause allow it."""
        calls, pause_key = self.keys.spotify_calls, self.keys.spotify_pause
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(calls, pause_key)
                    pause = _pause_from(await pipe.get(pause_key), now_ms)
                    low = now_ms - budget.WINDOW_MS
                    raw: list[Any] = await pipe.zrangebyscore(
                        calls, f"({low}", "+inf", withscores=True
                    )
                    stamps = [int(score) for _, score in raw]
                    decision = budget.decide(stamps, limit, now_ms)
                    if pause is not None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return Reservation(False, decision.used, _later(pause, decision))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if decision.allowed:
                        pipe.zadd(calls, {f"{now_ms}:{uuid.uuid4().hex[:10]}": now_ms})
                        pipe.zremrangebyscore(calls, "-inf", low)
                        pipe.pexpire(calls, budget.WINDOW_MS)
                        await pipe.execute()
                        return Reservation(True, decision.used + 1, None)
                    until = decision.paused_until_ms or now_ms
                    pause = Pause(until, "budget")
                    self._queue_pause(pipe, pause, now_ms)
                    await pipe.execute()
                    return Reservation(False, decision.used, pause)
                except WatchError:
                    continue

    async def pause_if_spent(self, now_ms: int, limit: int) -> Pause | None:
        """After the last call of the budget: store and return the pause it starts now,
        so the document says so at once rather than at the next refused call."""
        low = now_ms - budget.WINDOW_MS
        raw: list[Any] = await self.redis.zrangebyscore(
            self.keys.spotify_calls, f"({low}", "+inf", withscores=True
        )
        decision = budget.decide([int(score) for _, score in raw], limit, now_ms)
        stored = await self.pause(now_ms)
        if decision.allowed or decision.paused_until_ms is None:
            return stored
        pause = _later(stored, decision) if stored else Pause(decision.paused_until_ms, "budget")
        await self.set_pause(pause, now_ms)
        return pause

    async def quota_exceeded(self, until_ms: int, now_ms: int, configured: int) -> Pause:
        """Spotify said QUOTA_EXCEEDED: learn the quota from the calls made in the window
        (kept 7 days), and pause until the later of Spotify's Retry-After and the moment
        the learnt budget frees a call."""
        stamps = await self.calls_window(now_ms)
        learnt = budget.learnt_quota(len(stamps))
        value = json.dumps({"quota": learnt, "at": now_ms})
        await self.redis.set(self.keys_learnt, value, px=LEARNT_TTL_MS)
        decision = budget.decide(stamps, budget.effective_budget(configured, learnt), now_ms)
        pause = _later(Pause(until_ms, "quota"), decision)
        await self.set_pause(pause, now_ms)
        return pause

    @property
    def keys_learnt(self) -> str:
        return f"{self.keys.prefix}:spotify:learnt"

    @property
    def keys_profile(self) -> str:
        return f"{self.keys.prefix}:spotify:profile"

    async def learnt(self) -> int | None:
        """The quota learnt from the last QUOTA_EXCEEDED of the week, if any."""
        record = await self.learnt_record()
        return None if record is None else record[0]

    async def learnt_record(self) -> tuple[int, int] | None:
        """(the learnt quota, until when it holds: ms epoch), if one is held."""
        try:
            raw = await self.redis.get(self.keys_learnt)
            if not raw:
                return None
            value = json.loads(raw)
            return int(value["quota"]), int(value["at"]) + LEARNT_TTL_MS
        except (ValueError, KeyError, TypeError):
            return None

    async def calls_window(self, now_ms: int) -> list[int]:
        """The times of the calls in the rolling 24 h, oldest first."""
        raw: list[Any] = await self.redis.zrangebyscore(
            self.keys.spotify_calls, f"({now_ms - budget.WINDOW_MS}", "+inf", withscores=True
        )
        return sorted(int(score) for _, score in raw)

    async def add_profile(self, hour: int, demand_s: float, fixed: float) -> None:
        """Record one hour's demand seconds and fixed calls; drop what is older than 8 days."""
        old: list[Any] = await self.redis.hkeys(self.keys_profile)
        stale = [f for f in old if (_int(f) or 0) < hour - PROFILE_KEEP_HOURS]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys_profile, str(hour), f"{demand_s:.1f} {fixed:.1f}")
            if stale:
                pipe.hdel(self.keys_profile, *stale)
            await pipe.execute()

    async def profile_hours(self) -> list[tuple[int, float, float]]:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys_profile)
        hours = []
        for field, value in raw.items():
            try:
                demand, fixed = (float(v) for v in value.split())
                hours.append((int(field), demand, fixed))
            except (ValueError, TypeError):
                continue
        return sorted(hours)

    def _queue_pause(self, pipe: Any, pause: Pause, now_ms: int) -> None:
        value = json.dumps({"until": pause.until_ms, "reason": pause.reason})
        pipe.set(self.keys.spotify_pause, value, px=max(1, pause.until_ms - now_ms))

    async def set_pause(self, pause: Pause, now_ms: int) -> None:
        """Spotify said QUOTA_EXCEEDED: no poller calls any endpoint until `until`."""
        async with self.redis.pipeline(transaction=True) as pipe:
            self._queue_pause(pipe, pause, now_ms)
            await pipe.execute()

    async def pause(self, now_ms: int) -> Pause | None:
        return _pause_from(await self.redis.get(self.keys.spotify_pause), now_ms)

    async def _count(self, now_ms: int) -> int:
        count: int = await self.redis.zcount(
            self.keys.spotify_calls, f"({now_ms - budget.WINDOW_MS}", "+inf"
        )
        return count

    async def calls_24h(self, now_ms: int) -> int:
        return await self._count(now_ms)

    # -- demand and wake-ups ------------------------------------------------------------

    async def report_demand(self, web_id: str, streams: int, until_ms: int) -> None:
        value = json.dumps({"streams": streams, "until": until_ms})
        await self.redis.hset(self.keys.demand, web_id, value)

    async def withdraw_demand(self, web_id: str) -> None:
        await self.redis.hdel(self.keys.demand, web_id)

    async def demand(self, now_ms: int) -> int:
        """Open streams over every live web process; a dead process's entry expires."""
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.demand)
        total, expired = 0, []
        for field, value in raw.items():
            try:
                entry = json.loads(value)
                streams, until = int(entry["streams"]), int(entry["until"])
            except (ValueError, KeyError, TypeError):
                streams, until = 0, 0
            if until <= now_ms:
                expired.append(field)
            else:
                total += max(0, streams)
        if expired:
            await self.redis.hdel(self.keys.demand, *expired)
        return total

    async def request_wake(self, reason: str) -> int:
        """Publish a wake request; the number of pollers that heard it (0: none runs)."""
        heard: int = await self.redis.publish(self.keys.wake, reason)
        return heard

    async def set_last_poll(self, now_ms: int) -> None:
        await self.redis.set(self.keys.last_poll, str(now_ms), ex=86400)

    async def last_poll(self) -> int | None:
        raw = await self.redis.get(self.keys.last_poll)
        try:
            return int(raw) if raw else None
        except ValueError:
            return None


def setup_reserve(store: Store, daily_budget: int) -> Reserve:
    """The budget check of the setup flows' one call (the code exchange at `/callback` and
    in `nowplaying auth`): recorded in the same rolling 24 h as the poller's calls, under
    the same learnt budget, and refused (`Paused`) during a stored pause."""
    quota = QuotaStore(store)

    async def reserve(endpoint: str) -> None:
        limit = budget.effective_budget(daily_budget, await quota.learnt())
        reservation = await quota.reserve(int(time.time() * 1000), limit)
        if reservation.pause is not None:
            raise Paused(reservation.pause.until_ms / 1000, reservation.pause.reason)

    return reserve


async def keep_setup_pause(store: Store, exc: Paused, daily_budget: int) -> Paused:
    """A setup flow's refused or answered-429 code exchange: Spotify's QUOTA_EXCEEDED is
    stored (and its quota learnt) as the poller stores it, so no poller calls Spotify
    during it; the pause to report, the stored one (perhaps longer) included."""
    if not isinstance(exc, QuotaExceeded):
        return exc  # a pause read from Redis (or the budget's own): already stored
    now = int(time.time() * 1000)
    pause = await QuotaStore(store).quota_exceeded(int(exc.until_s * 1000), now, daily_budget)
    return Paused(pause.until_ms / 1000, pause.reason)
