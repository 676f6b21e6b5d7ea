"""A simulated week against Spotify's daily quota: nowplaying's budgeted poller beside
today's 720-calls-an-hour policy, on one simulated clock, the same seed every run.

    python -m bench.quota_week [--days 7] [--seed 20261123]

How the loop runs on a simulated clock: the poller never sleeps by itself. Each poll
returns its next delay from the pure plan (poller/plan.py), and `Poller._schedule_poll`
hands that delay to a driver. In production the driver is APScheduler (real time); here
`WeekPoller` overrides that one method to push a "poll" event into a discrete-event
queue, and the loop below pops events in time order, setting the shared clock first.
Everything else is the production code: the real `Poller` (budget reservation, pacing,
demand, wake-ups, the QUOTA_EXCEEDED pause, the 204 confirmation) on fakeredis, whose
own TTLs are not used for any decision here (every expiry the poller reads is a
timestamp compared with the injected clock). The web side is reduced to what it tells
the poller: stream counts into `P:demand` and wake requests, sent the way web/demand.py
sends them (`on_wake` is what the poller's wake listener calls). Spotify answers at once
(no network latency), so a view's bounded wait always sees the poll it asked for.

The simulated Spotify plays a generated week (about 6 h a day in 2 to 4 sessions, tracks
of 2 to 7 min, about a quarter skipped, a pause or two per session, seeks now and then,
a podcast episode some days) and enforces 1,100 calls per rolling 24 h with
`429 QUOTA_EXCEEDED` and a Retry-After to when the window frees a call. A change's delay
is its simulated publish time minus the simulated time it happened at Spotify.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import heapq
import json
import logging
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fakeredis
import httpx

from bench.procs import median, percentile
from nowplaying.simulator.player import Item, Player
from poller.service import Poller
from shared.config import Settings
from shared.document import Document
from shared.freshness import needs_poll
from shared.quota_store import QuotaStore
from shared.store import Store

T0 = 1_764_460_800.0  # a Monday, 00:00 UTC
DAY_S = 86_400.0
SPOTIFY_QUOTA = 1_100
BUDGET = 1_000
README_VIEWS_PER_DAY = 200
WIDGET_VISITS_PER_DAY = 30
OVERLAY_S = 2 * 3600.0
SEEK_TOLERANCE_MS = 3000

# -- the week at Spotify ---------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """From `start` on (until the next segment), this item at this position, or nothing."""

    start: float
    item: Item | None
    pos_ms: int = 0
    playing: bool = False


@dataclass(frozen=True)
class Change:
    at: float
    kind: str  # start, end, stop (natural ends), skip, pause, resume, seek


@dataclass
class Week:
    segments: list[Segment] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    sessions: list[tuple[float, float]] = field(default_factory=list)
    finished: list[tuple[float, Item]] = field(default_factory=list)  # (ended at, item)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)

    def add(self, segment: Segment, kind: str | None) -> None:
        self.segments.append(segment)
        if kind is not None:
            self.changes.append(Change(segment.start, kind))

    def seal(self) -> None:
        """Index the generated week for lookups by time."""
        self.starts = [s.start for s in self.segments]
        self.ends = [e for e, _ in self.finished]

    def state_at(self, t: float) -> tuple[Item, int, bool] | None:
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0 or self.segments[i].item is None:
            return None
        s = self.segments[i]
        assert s.item is not None
        pos = s.pos_ms + (int((t - s.start) * 1000) if s.playing else 0)
        return s.item, min(pos, s.item.duration_ms), s.playing

    def last_finished(self, t: float) -> tuple[float, Item] | None:
        i = bisect.bisect_right(self.ends, t) - 1
        return self.finished[i] if i >= 0 else None


def generate_week(rng: random.Random, days: int) -> Week:
    """Listening about 6 h a day in 2 to 4 sessions (see the module docstring)."""
    week = Week()
    counter = 0
    for day in range(days):
        base = T0 + day * DAY_S
        n = rng.randint(2, 4)
        total = rng.uniform(5.5, 6.5) * 3600
        longest = rng.uniform(2.3, 3.0) * 3600
        rest = [rng.random() + 0.5 for _ in range(n - 1)]
        lengths = [longest] + [(total - longest) * w / sum(rest) for w in rest]
        rng.shuffle(lengths)
        slot = 16 * 3600 / n  # sessions between 08:00 and 24:00
        podcast_day = rng.random() < 0.5
        for k, length in enumerate(lengths):
            start = base + 8 * 3600 + k * slot + rng.uniform(0, max(0.0, slot - length))
            end = start + length
            week.sessions.append((start, end))
            pauses = sorted(rng.uniform(start, end) for _ in range(rng.randint(1, 2)))
            t, kind = start, "start"
            while t < end:
                counter += 1
                if podcast_day and rng.random() < 0.08:
                    podcast_day = False
                    duration = int(rng.uniform(25, 50) * 60_000)
                    item = Item(
                        "episode",
                        f"ep{counter:05d}",
                        f"Episode {counter}",
                        ("Show",),
                        "A Show",
                        duration,
                        "f0a500",
                    )
                else:
                    duration = int(rng.uniform(120, 420) * 1000)
                    item = Item(
                        "track",
                        f"tr{counter:05d}",
                        f"Track {counter}",
                        ("Artist",),
                        "Album",
                        duration,
                        "1db954",
                    )
                t, kind = play_item(week, rng, item, t, kind, pauses)
            week.add(Segment(t, None), "stop")
    week.seal()
    return week


def play_item(
    week: Week,
    rng: random.Random,
    item: Item,
    t: float,
    kind: str,
    pauses: list[float],
    skip_rate: float = 0.25,
) -> tuple[float, str]:
    """Play one item from `t` (with maybe a pause, a seek or a skip): when it stops, and
    how ("end" or "skip": the kind of change the next item's start is)."""
    pos = 0
    week.add(Segment(t, item, 0, True), kind)
    skip_at = rng.uniform(0.1, 0.9) * item.duration_ms if rng.random() < skip_rate else None
    seek_at = rng.uniform(0.1, 0.8) * item.duration_ms if rng.random() < 0.08 else None
    while True:
        left = item.duration_ms - pos
        events: list[tuple[float, str]] = []
        if skip_at is not None and skip_at > pos:
            events.append((t + (skip_at - pos) / 1000, "skip"))
        if seek_at is not None and seek_at > pos:
            events.append((t + (seek_at - pos) / 1000, "seek"))
        if pauses and pauses[0] < t + left / 1000:
            events.append((max(t, pauses[0]), "pause"))
        if not events:
            t += left / 1000
            week.finished.append((t, item))
            return t, "end"
        at, what = min(events)
        pos += int((at - t) * 1000)
        t = at
        if what == "skip":
            week.finished.append((t, item))
            return t, "skip"
        if what == "seek":
            seek_at = None
            pos = max(
                0,
                min(
                    item.duration_ms - 5000, pos + rng.choice((-1, 1)) * rng.randint(20, 60) * 1000
                ),
            )
            week.add(Segment(t, item, pos, True), "seek")
            continue
        pauses.pop(0)
        week.add(Segment(t, item, pos, False), "pause")
        t += rng.uniform(30, 300)
        week.add(Segment(t, item, pos, True), "resume")


# -- Spotify, simulated --------------------------------------------------------------------


@dataclass
class Spotify:
    """The Web API and token endpoint over one week, with the daily quota enforced."""

    week: Week
    clock: Callable[[], float]
    quota: int = SPOTIFY_QUOTA
    requests: list[float] = field(default_factory=list)
    refused: list[tuple[float, float]] = field(default_factory=list)  # (at, retry-after s)
    admitted: deque[float] = field(default_factory=deque)
    player: Player = field(default_factory=lambda: Player(art_base="https://i.example/art"))

    def handle(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        self.requests.append(now)
        while self.admitted and self.admitted[0] <= now - DAY_S:
            self.admitted.popleft()
        if len(self.admitted) >= self.quota:
            retry = max(1, math.ceil(self.admitted[0] + DAY_S - now))
            self.refused.append((now, retry))
            body = {
                "error": {"status": 429, "message": "Too many requests", "reason": "QUOTA_EXCEEDED"}
            }
            return httpx.Response(429, json=body, headers={"Retry-After": str(retry)})
        self.admitted.append(now)
        path = request.url.path
        if path.endswith("/api/token"):
            return httpx.Response(
                200,
                json={
                    "access_token": f"at{len(self.requests)}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        if path.endswith("/currently-playing"):
            state = self.week.state_at(now)
            if state is None:
                return httpx.Response(204)
            item, pos, playing = state
            return httpx.Response(
                200,
                json={
                    "timestamp": int(now * 1000),
                    "context": None,
                    "progress_ms": pos,
                    "is_playing": playing,
                    "currently_playing_type": item.kind,
                    "item": self.player.item_json(item),
                    "actions": {},
                },
            )
        if path.endswith("/recently-played"):
            last = self.week.last_finished(now)
            items = []
            if last is not None and last[1].kind == "track":
                played = datetime.fromtimestamp(last[0], UTC).isoformat().replace("+00:00", "Z")
                items.append({"track": self.player.item_json(last[1]), "played_at": played})
            return httpx.Response(200, json={"items": items, "limit": 1})
        return httpx.Response(404)


# -- the poller on the event queue ------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Driver:
    """The discrete-event queue: (time, order, kind, data)."""

    def __init__(self) -> None:
        self.queue: list[tuple[float, int, str, Any]] = []
        self.order = 0

    def push(self, at: float, kind: str, data: Any = None) -> None:
        self.order += 1
        heapq.heappush(self.queue, (at, self.order, kind, data))


class DriverTimer:
    """The production Poller's Timer on the discrete-event queue: `once` queues a poll
    event; only the latest one runs (a moved poll job replaces the one before)."""

    def __init__(self, driver: Driver, clock: Clock) -> None:
        self.driver, self.clock = driver, clock
        self.generation = 0

    def every(self, period_s: float, job: Any) -> None:
        """Leadership is taken once by the bench; no keepalive runs on the queue."""

    def once(self, delay_s: float, job: Any) -> None:
        self.generation += 1
        self.driver.push(self.clock() + delay_s, "poll", self.generation)

    def stop(self) -> None:
        """Nothing to stop: the queue ends with the week."""


class PublishLog:
    """Every document the poller published, with the simulated time, noted after each
    round (the only moment the poller publishes)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.publishes: list[tuple[float, Document]] = []
        self.last_version = 0

    def see(self, doc: Document | None) -> None:
        if doc is not None and doc["version"] != self.last_version:
            self.last_version = doc["version"]
            self.publishes.append((self.clock(), doc))


@dataclass
class Viewers:
    readme: list[float]
    streams: list[tuple[float, float, str]]  # (open, close, "widget" or "overlay")
    watched: list[tuple[float, float]] = field(default_factory=list)  # merged spans

    def __post_init__(self) -> None:
        for opened, closed, _ in sorted(self.streams):
            if self.watched and opened <= self.watched[-1][1]:
                self.watched[-1] = (self.watched[-1][0], max(self.watched[-1][1], closed))
            else:
                self.watched.append((opened, closed))
        self.watched_starts = [a for a, _ in self.watched]


def generate_viewers(rng: random.Random, week: Week, days: int) -> Viewers:
    readme, streams = [], []
    for day in range(days):
        base = T0 + day * DAY_S
        readme += [base + rng.uniform(0, DAY_S) for _ in range(README_VIEWS_PER_DAY)]
        for _ in range(WIDGET_VISITS_PER_DAY):
            start = base + rng.uniform(8 * 3600, DAY_S - 600)
            streams.append((start, start + rng.uniform(60, 600), "widget"))
        today = [s for s in week.sessions if base <= s[0] < base + DAY_S]
        longest = max(today, key=lambda s: s[1] - s[0])
        start = longest[0] + rng.uniform(0, max(0.0, longest[1] - longest[0] - OVERLAY_S))
        streams.append((start, start + OVERLAY_S, "overlay"))
    return Viewers(sorted(readme), sorted(streams))


async def run_policy(policy: str, week: Week, viewers: Viewers, days: int) -> dict[str, Any]:
    """One policy through the week: `budget` (nowplaying now) or `today` (720 an hour)."""
    clock = Clock()
    spotify = Spotify(week, clock)
    store = Store(fakeredis.FakeAsyncRedis(), "week")
    quota = QuotaStore(store)
    settings = Settings(
        client_id="id",
        client_secret="secret",
        refresh_token="refresh",
        accounts_url="http://spotify",
        api_url="http://spotify/v1",
        poll_mode="viewers" if policy == "budget" else "always",
        daily_budget=BUDGET if policy == "budget" else 10**9,
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(spotify.handle))
    driver = Driver()
    timer = DriverTimer(driver, clock)
    poller = Poller(settings, store, http, clock=clock, seed=7, timer=timer)
    published = PublishLog(clock)
    poller.is_leader = True
    end = T0 + days * DAY_S
    for at in viewers.readme:
        driver.push(at, "view")
    for opened, closed, _ in viewers.streams:
        driver.push(opened, "open")
        driver.push(closed, "close")
    driver.push(T0, "poll", 0)
    open_streams = 0
    views: list[tuple[float, bool, bool]] = []  # (at, showed the truth, stale)
    while driver.queue:
        at, _, kind, data = heapq.heappop(driver.queue)
        if at > end:
            break
        clock.now = max(clock.now, at)
        if kind == "poll":
            if data in (0, timer.generation):
                await poller.tick()
                published.see(poller.published)
        elif kind in ("open", "close"):
            open_streams += 1 if kind == "open" else -1
            await quota.report_demand("web", open_streams, int((end + DAY_S) * 1000))
            if kind == "open":
                poller.on_wake("stream")
        elif kind == "view":
            last = await quota.last_poll()
            song = poller.published["song"] if poller.published else None
            if needs_poll(song, last, poller.now_ms()):
                poller.on_wake("view")
            driver.push(at, "view_read")  # after the poll it may have queued at `at`
        elif kind == "view_read":
            doc = poller.published
            views.append((at, shows(week, doc, at), bool(doc and doc["stale"])))
    await http.aclose()
    return measure(policy, week, viewers, spotify, published.publishes, views, days)


def shows(week: Week, doc: Document | None, t: float) -> bool:
    """Whether the document shows what plays at Spotify at `t` (item and play/pause)."""
    truth = week.state_at(t)
    song = doc["song"] if doc else None
    if truth is None:
        return song is None or song["source"] == "recent" or not song["isPlaying"]
    item, pos, playing = truth
    if song is None or song["source"] != "current" or song["id"] != item.id:
        return False
    if song["isPlaying"] != playing:
        return False
    expected = song["progressMs"]
    if expected is not None and song["progressAt"] is not None and song["isPlaying"]:
        expected += int(t * 1000) - song["progressAt"]
    return expected is None or abs(min(expected, item.duration_ms) - pos) <= SEEK_TOLERANCE_MS


def watched_at(viewers: Viewers, t: float) -> bool:
    i = bisect.bisect_right(viewers.watched_starts, t) - 1
    return i >= 0 and t < viewers.watched[i][1]


def change_delays(
    week: Week, viewers: Viewers, publishes: list[tuple[float, Document]]
) -> list[tuple[Change, float]]:
    """For every change while a stream is open: seconds until a published document
    showed it (infinity when the next change came first)."""
    times = [t for t, _ in publishes]
    out = []
    for i, change in enumerate(week.changes):
        if not watched_at(viewers, change.at):
            continue
        nxt = week.changes[i + 1].at if i + 1 < len(week.changes) else math.inf
        delay = math.inf
        j = bisect.bisect_right(times, change.at) - 1
        if j >= 0 and shows(week, publishes[j][1], change.at + 1e-3):
            delay = 0.0  # already shown (e.g. a resume the poller never saw paused)
        else:
            for t, doc in publishes[j + 1 :]:
                if t >= nxt:
                    break
                if shows(week, doc, t):
                    delay = t - change.at
                    break
        out.append((change, delay))
    return out


def max_rolling(times: list[float], window: float = DAY_S) -> int:
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def lockouts(refused: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Spells with every call refused; refusals less than an hour apart are one spell
    (at the window's edge a freed call is taken and refused again at once)."""
    spans: list[tuple[float, float]] = []
    for at, retry in refused:
        if spans and at <= spans[-1][1] + 3600:
            spans[-1] = (spans[-1][0], max(spans[-1][1], at + retry))
        else:
            spans.append((at, at + retry))
    return spans


def measure(
    policy: str,
    week: Week,
    viewers: Viewers,
    spotify: Spotify,
    publishes: list[tuple[float, Document]],
    views: list[tuple[float, bool, bool]],
    days: int,
) -> dict[str, Any]:
    delays = change_delays(week, viewers, publishes)
    natural = [d for c, d in delays if c.kind in ("end", "stop")]
    unpredictable = [d for c, d in delays if c.kind not in ("end", "stop")]
    every = [d for _, d in delays]
    idle_s, idle_calls = 0.0, 0
    step = 10.0
    t = T0
    while t < T0 + days * DAY_S:
        if week.state_at(t) is None and not watched_at(viewers, t):
            idle_s += step
        t += step
    for t in spotify.requests:
        if week.state_at(t) is None and not watched_at(viewers, t):
            idle_calls += 1
    locked = lockouts(spotify.refused)
    in_lock = [v for v in views if any(a <= v[0] < b for a, b in locked)]  # few spans
    return {
        "policy": policy,
        "requests": len(spotify.requests),
        "quota_exceeded": len(spotify.refused),
        "max_24h": max_rolling(spotify.requests),
        "changes_watched": len(delays),
        "every_median_s": median(every) if every else 0.0,
        "natural_median_s": median(natural) if natural else 0.0,
        "unpredictable_p90_s": percentile(unpredictable, 90) if unpredictable else 0.0,
        "missed_while_watched": sum(1 for d in every if d == math.inf),
        "readme_views": len(views),
        "readme_right": sum(1 for v in views if v[1]) / max(1, len(views)),
        "idle_calls_per_hour": idle_calls / (idle_s / 3600) if idle_s else 0.0,
        "lockouts": [(a - T0, b - a) for a, b in locked],
        "views_in_lockout": len(in_lock),
        "views_in_lockout_right": sum(1 for v in in_lock if v[1]) / max(1, len(in_lock)),
        "views_in_lockout_stale": sum(1 for v in in_lock if v[2]) / max(1, len(in_lock)),
    }


async def measure_week(days: int = 7, seed: int = 20261123) -> list[dict[str, Any]]:
    # Today's policy hits the quota's edge thousands of times: keep its warnings out.
    logging.getLogger("nowplaying.poller").setLevel(logging.ERROR)
    week = generate_week(random.Random(seed), days)
    viewers = generate_viewers(random.Random(seed + 1), week, days)
    return [await run_policy(p, week, viewers, days) for p in ("budget", "today")]


def fmt_s(value: float) -> str:
    return "never shown" if value == math.inf else f"{value:.1f} s"


def when(offset_s: float) -> str:
    day = int(offset_s // DAY_S)
    rest = offset_s - day * DAY_S
    return f"day {day + 1} {int(rest // 3600):02d}:{int(rest % 3600 // 60):02d}"


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool]]:
    r = result
    return [
        (
            "QUOTA_EXCEEDED answers in the week: 0",
            str(r["quota_exceeded"]),
            r["quota_exceeded"] == 0,
        ),
        (f"calls in any rolling 24 h ≤ {BUDGET:,}", f"{r['max_24h']:,}", r["max_24h"] <= BUDGET),
        (
            "every change while a stream is open, median ≤ 3 s",
            fmt_s(r["every_median_s"]),
            r["every_median_s"] <= 3,
        ),
        (
            "unpredictable changes while a stream is open, p90 ≤ 30 s",
            fmt_s(r["unpredictable_p90_s"]),
            r["unpredictable_p90_s"] <= 30,
        ),
        (
            "natural end of track while a stream is open, median ≤ 1.5 s",
            fmt_s(r["natural_median_s"]),
            r["natural_median_s"] <= 1.5,
        ),
        (
            "README views showing what plays at that moment ≥ 97 %",
            f"{100 * r['readme_right']:.1f} %",
            r["readme_right"] >= 0.97,
        ),
        (
            "calls per hour with nothing playing and no stream open ≤ 8",
            f"{r['idle_calls_per_hour']:.1f}",
            r["idle_calls_per_hour"] <= 8,
        ),
    ]


def table(results: list[dict[str, Any]]) -> str:
    budget, today = results
    rows = [
        "| target | nowplaying (budget, viewers) | today's policy (720 an hour) | met |",
        "|---|---|---|---|",
    ]
    for (name, ours, ok), (_, theirs, _) in zip(targets(budget), targets(today), strict=True):
        rows.append(f"| {name} | {ours} | {theirs} | {'met' if ok else '**missed**'} |")
    rows.append(
        f"| Spotify requests in the week | {budget['requests']:,} | {today['requests']:,} | |"
    )
    rows.append(
        f"| changes while a stream was open (never shown before the next one) | "
        f"{budget['changes_watched']} ({budget['missed_while_watched']}) | "
        f"{today['changes_watched']} ({today['missed_while_watched']}) | |"
    )
    return "\n".join(rows)


def lockout_text(today: dict[str, Any]) -> str:
    spans = today["lockouts"]
    if not spans:
        return "Today's policy was never locked out."
    listed = "; ".join(f"{when(a)} for {d / 3600:.1f} h" for a, d in spans)
    hours = sum(d for _, d in spans) / 3600
    return (
        f"Today's policy was locked out {len(spans)} times ({listed}): {hours:.0f} h of the "
        f"week. Meanwhile {today['views_in_lockout']} README views were served, "
        f"{100 * today['views_in_lockout_right']:.0f} % of them showing what played, "
        f"{100 * today['views_in_lockout_stale']:.0f} % marked stale; live viewers saw no "
        "change at all until the lockout ended."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    results = asyncio.run(measure_week(args.days, args.seed))
    print(table(results))
    print()
    print(lockout_text(results[1]))
    print(json.dumps([{k: v for k, v in r.items() if k != "lockouts"} for r in results]))


if __name__ == "__main__":
    main()
