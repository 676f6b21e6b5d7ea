"""The weeks real users have, on the production Poller and the simulated clock of
bench/quota_week.py: heavy listening, a popular profile, a wall display, a streamer's
overlay with a chat bot, podcasts, a lagging player, a stuck track, an outage, hourly
restarts, a budget set above the quota. Spotify's quota at its lowest report (1,100 per
rolling 24 h, its Retry-After to when its window frees a call: 13-15 h after a day's
spending), the default budget of 1,000 unless the week says otherwise.

    python -m bench.weeks [--days 7] [--seed 20261123] [--seeds 3] [--only heavy,stuck]

Each week is a generator here (listening, viewers, faults); the driver is
bench/quota_week.py's discrete-event loop, grown by restarts and outages. Measured:
QUOTA_EXCEEDED answers, the most calls in any 24 h, hours the document was paused or
stale while music played (and the longest such spell), the p50/p90 delay of the changes
nobody could predict (starts, skips, pauses, resumes, seeks) to an open stream and to a
view (the first published document that shows it), the share never shown before the
next change, the share of one-shot views right while music played, idle calls an hour
(nothing playing, no stream open), lockouts; beside them, what the even poller of
bench/even_bound.py reaches on the same week (a target it misses too is beyond the budget,
not the allocator). `--seeds N` runs N weeks of each kind and reports the medians.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fakeredis
import httpx

from bench import even_bound
from bench import quota_week as qw
from bench.procs import median, percentile
from nowplaying.simulator.player import Item
from poller.service import Poller
from shared.config import Settings
from shared.document import Document
from shared.freshness import needs_poll
from shared.quota_store import QuotaStore
from shared.store import Store

T0, DAY_S = qw.T0, qw.DAY_S
UNPREDICTABLE = ("start", "skip", "pause", "resume", "seek")

# -- listening -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listening:
    hours: tuple[float, float] = (5.5, 6.5)  # music a day
    sessions: tuple[int, int] = (2, 4)
    track_s: tuple[float, float] = (120, 420)
    skip: float = 0.25
    podcast: float = 0.0  # share of items that are episodes (25-90 min)
    first_hour: float = 8.0  # sessions between this hour and midnight
    lag_s: tuple[float, float] | None = None  # old item reported this long past its end
    stuck_s: float = 0.0  # one item reported playing at its end this long (day 2)


def generate(rng: random.Random, days: int, how: Listening) -> qw.Week:
    week = qw.Week()
    counter = 0
    stuck_left = how.stuck_s
    for day in range(days):
        base = T0 + day * DAY_S
        n = rng.randint(*how.sessions)
        total = rng.uniform(*how.hours) * 3600
        weights = [rng.random() + 0.5 for _ in range(n)]
        lengths = [total * w / sum(weights) for w in weights]
        span = (24 - how.first_hour) * 3600
        slot = span / n
        for k, length in enumerate(lengths):
            start = base + how.first_hour * 3600 + k * slot
            start += rng.uniform(0, max(0.0, slot - length))
            end = start + min(length, slot)
            week.sessions.append((start, end))
            pauses = sorted(rng.uniform(start, end) for _ in range(rng.randint(1, 2)))
            t, kind = start, "start"
            while t < end:
                counter += 1
                if rng.random() < how.podcast:
                    duration = int(rng.uniform(25, 90) * 60_000)
                    item = Item("episode", f"ep{counter:05d}", f"Ep {counter}", ("Show",), "A Show",
                                duration, "f0a500")  # fmt: skip
                else:
                    duration = int(rng.uniform(*how.track_s) * 1000)
                    item = Item("track", f"tr{counter:05d}", f"Track {counter}", ("Artist",),
                                "Album", duration, "1db954")  # fmt: skip
                t, kind = qw.play_item(week, rng, item, t, kind, pauses, how.skip)
                if kind == "end" and how.lag_s is not None:
                    t = lag(week, item, t, rng.uniform(*how.lag_s))
                if kind == "end" and stuck_left and day == 1 and k == n - 1 and t >= end - 600:
                    t, stuck_left = lag(week, item, t, stuck_left), 0.0
                    break
            week.add(qw.Segment(t, None), "stop")
    week.seal()
    return week


def lag(week: qw.Week, item: Item, t: float, seconds: float) -> float:
    """The player keeps reporting `item` at its end, playing, for `seconds`."""
    week.segments.append(qw.Segment(t, item, item.duration_ms, True))
    return t + seconds


# -- viewers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    readme_per_day: int = 200
    readme_gap_s: tuple[float, float] | None = None  # a view every this long, all day
    widgets_per_day: int = 30
    overlay_s: float = 2 * 3600.0  # one overlay a day inside the longest session
    wall: bool = False  # a stream open all week
    bot_gap_s: tuple[float, float] | None = None  # /now.txt this often while the overlay is on


def audience(rng: random.Random, week: qw.Week, days: int, who: Audience) -> qw.Viewers:
    readme: list[float] = []
    streams: list[tuple[float, float, str]] = []
    for day in range(days):
        base = T0 + day * DAY_S
        if who.readme_gap_s is not None:
            t = base + rng.uniform(*who.readme_gap_s)
            while t < base + DAY_S:
                readme.append(t)
                t += rng.uniform(*who.readme_gap_s)
        else:
            readme += [base + rng.uniform(0, DAY_S) for _ in range(who.readme_per_day)]
        for _ in range(who.widgets_per_day):
            start = base + rng.uniform(8 * 3600, DAY_S - 600)
            streams.append((start, start + rng.uniform(60, 600), "widget"))
        today = [s for s in week.sessions if base <= s[0] < base + DAY_S]
        if who.overlay_s and today:
            longest = max(today, key=lambda s: s[1] - s[0])
            room = max(0.0, longest[1] - longest[0] - who.overlay_s)
            start = longest[0] + rng.uniform(0, room)
            streams.append((start, start + who.overlay_s, "overlay"))
            if who.bot_gap_s is not None:
                t = start
                while t < start + who.overlay_s:
                    readme.append(t)
                    t += rng.uniform(*who.bot_gap_s)
    if who.wall:
        streams.append((T0, T0 + days * DAY_S + 1, "wall"))
    return qw.Viewers(sorted(readme), sorted(streams))


# -- the weeks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    listening: Listening = Listening()
    audience: Audience = Audience()
    budget: int = qw.BUDGET
    outage: tuple[float, float] | None = None  # (day offset s, length s): 503 everywhere
    restarts_s: float = 0.0  # a new poller every this long
    p90_target_s: float = 45.0


HEAVY = Listening(hours=(13.5, 14.5), sessions=(2, 3), track_s=(120, 180), skip=0.40,
                  first_hour=7.0)  # fmt: skip
POPULAR = Audience(readme_gap_s=(5, 20), widgets_per_day=300)
SCENARIOS = (
    Scenario("bench", "the tuning week: 6 h of music, 200 views, 30 widgets, a 2-h overlay"),
    Scenario("heavy", "heavy listening: 14 h a day of 2-3 min tracks, 40 % skipped", HEAVY),
    Scenario(
        "heavy-popular",
        "heavy listening with a popular profile",
        HEAVY,
        POPULAR,
        p90_target_s=90.0,
    ),
    Scenario("popular", "a README view every 5-20 s all day, 300 widget visits", audience=POPULAR),
    Scenario("wall", "a stream open all week (wall display)", audience=Audience(wall=True)),
    Scenario(
        "streamer",
        "an 8-h overlay a day with a chat bot (/now.txt every ~30 s)",
        Listening(hours=(8.5, 9.5), sessions=(1, 2)),
        Audience(overlay_s=8 * 3600.0, bot_gap_s=(20, 40)),
    ),
    Scenario("podcasts", "mostly podcast episodes of 25-90 min", Listening(podcast=0.7)),
    Scenario(
        "lagging",
        "the player reports the old item 0.5-3 s past its end",
        Listening(lag_s=(0.5, 3.0)),
    ),
    Scenario(
        "stuck",
        "a track reported playing past its end for 8 h (day 2's night)",
        Listening(stuck_s=8 * 3600.0),
    ),
    Scenario(
        "outage",
        "Spotify answers 503 for 4 h on day 3 (token expired meanwhile)",
        outage=(2 * DAY_S + 18 * 3600, 4 * 3600),
    ),
    Scenario("restarts", "the poller restarts every hour", restarts_s=3600.0),
    Scenario("overbudget", "SPOTIFY_DAILY_BUDGET=5000 against the 1,100 quota", budget=5000),
)


# -- Spotify with an outage --------------------------------------------------------------------


@dataclass
class FaultySpotify(qw.Spotify):
    outage: tuple[float, float] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        now = self.clock()
        if self.outage is not None and self.outage[0] <= now < self.outage[1]:
            self.requests.append(now)
            return httpx.Response(503, text="upstream unavailable")
        return super().handle(request)


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Run:
    spotify: FaultySpotify
    publishes: list[tuple[float, Document]] = field(default_factory=list)
    views: list[tuple[float, bool, bool]] = field(default_factory=list)
    asked: list[float] = field(default_factory=list)  # views that found the document old
    restarts: int = 0


def settings_for(scenario: Scenario) -> Settings:
    return Settings(
        client_id="id",
        client_secret="secret",
        refresh_token="refresh",
        accounts_url="http://spotify",
        api_url="http://spotify/v1",
        poll_mode="viewers",
        daily_budget=scenario.budget,
    )


async def run(scenario: Scenario, week: qw.Week, viewers: qw.Viewers, days: int) -> Run:
    clock = qw.Clock()
    outage = None
    if scenario.outage is not None:
        outage = (T0 + scenario.outage[0], T0 + scenario.outage[0] + scenario.outage[1])
    spotify = FaultySpotify(week, clock, outage=outage)
    store = Store(fakeredis.FakeAsyncRedis(), "week")
    quota = QuotaStore(store)
    settings = settings_for(scenario)
    http = httpx.AsyncClient(transport=httpx.MockTransport(spotify.handle))
    driver = qw.Driver()
    timer = qw.DriverTimer(driver, clock)
    result = Run(spotify)
    published = qw.PublishLog(clock)
    seed = 7

    def new_poller() -> Poller:
        nonlocal seed
        seed += 1
        return Poller(settings, store, http, clock=clock, seed=seed, timer=timer)

    poller = new_poller()
    poller.is_leader = True
    end = T0 + days * DAY_S
    for at in viewers.readme:
        driver.push(at, "view")
    for opened, closed, _ in viewers.streams:
        driver.push(opened, "open")
        driver.push(closed, "close")
    if scenario.restarts_s:
        t = T0 + scenario.restarts_s
        while t < end:
            driver.push(t, "restart")
            t += scenario.restarts_s
    driver.push(T0, "poll", 0)
    open_streams = 0
    while driver.queue:
        at, _, kind, data = heapq.heappop(driver.queue)
        if at > end:
            break
        clock.now = max(clock.now, at)
        if kind == "poll":
            if data in (0, timer.generation):
                await poller.tick()
                published.see(poller.published)
        elif kind == "restart":
            await poller.keepalive()  # its last heartbeat (every few seconds in production)
            await poller.stop()
            poller = new_poller()
            await poller.keepalive()  # leads at once: the old one released the lock
            published.see(poller.published)
            result.restarts += 1
        elif kind in ("open", "close"):
            open_streams += 1 if kind == "open" else -1
            await quota.report_demand("web", open_streams, int((end + DAY_S) * 1000))
            if kind == "open":
                poller.on_wake("stream")
        elif kind == "view":
            last = await quota.last_poll()
            song = poller.published["song"] if poller.published else None
            if needs_poll(song, last, poller.now_ms()):
                result.asked.append(at)
                poller.on_wake("view")
            driver.push(at, "view_read")
        elif kind == "view_read":
            doc = poller.published
            result.views.append((at, qw.shows(week, doc, at), bool(doc and doc["stale"])))
    await http.aclose()
    result.publishes = published.publishes
    return result


# -- the measures ------------------------------------------------------------------------------


def playing_at(week: qw.Week, t: float) -> bool:
    state = week.state_at(t)
    return state is not None and state[2]


def dark_spells(week: qw.Week, publishes: list[tuple[float, Document]], days: int) -> list[float]:
    """Lengths (s) of the spells the document was stale or paused while music played."""
    times = [t for t, _ in publishes]
    spells: list[float] = []
    current, step = 0.0, 10.0
    t = T0
    while t < T0 + days * DAY_S:
        j = bisect.bisect_right(times, t) - 1
        doc = publishes[j][1] if j >= 0 else None
        dark = doc is not None and (doc["stale"] or doc["pausedUntil"] is not None)
        if dark and playing_at(week, t):
            current += step
        elif current:
            spells.append(current)
            current = 0.0
        t += step
    if current:
        spells.append(current)
    return spells


def view_delays(
    week: qw.Week,
    asked: list[float],
    publishes: list[tuple[float, Document]],
    counted: Callable[[float], bool] = lambda t: True,
) -> list[float]:
    """Every unpredictable change while music plays that a one-shot view asked for
    before the next change (a view that found the last poll older than the web's
    freshness window; one within it is answered from the document as it is, by the
    web's rule): seconds from that view (0 when the change was already shown) until a
    published document showed it, infinity when none did before the next change. A
    change no view asked about is not counted."""
    times = [t for t, _ in publishes]
    out = []
    for i, change in enumerate(week.changes):
        if change.kind not in UNPREDICTABLE or not counted(change.at):
            continue
        nxt = week.changes[i + 1].at if i + 1 < len(week.changes) else math.inf
        k = bisect.bisect_left(asked, change.at)
        if k >= len(asked) or asked[k] >= nxt:
            continue
        looked = asked[k]
        delay = math.inf
        j = bisect.bisect_right(times, change.at) - 1
        if j >= 0 and qw.shows(week, publishes[j][1], change.at + 1e-3):
            delay = 0.0
        else:
            for t, doc in publishes[j + 1 :]:
                if t >= nxt:
                    break
                if qw.shows(week, doc, t):
                    delay = max(0.0, t - looked)
                    break
        out.append(delay)
    return out


def pct(values: list[float], p: float) -> float:
    return percentile(values, p) if values else 0.0


def measure(
    scenario: Scenario, week: qw.Week, viewers: qw.Viewers, r: Run, days: int
) -> dict[str, Any]:
    """The outage itself (Spotify down) is left out of the delays and the views, and
    out of the dark hours (`dark_outside_outage_h`): no poller can show what it cannot
    read. Its cost in calls is measured (`outage_calls`)."""
    spotify = r.spotify
    down = spotify.outage or (math.inf, math.inf)

    def outside(t: float) -> bool:
        return not down[0] <= t < down[1] + 60

    delays = qw.change_delays(week, viewers, r.publishes)
    stream = [d for c, d in delays if c.kind in UNPREDICTABLE and outside(c.at)]
    view = view_delays(week, r.asked, r.publishes, outside)
    spells = dark_spells(week, r.publishes, days)
    playing_views = [v for v in r.views if playing_at(week, v[0]) and outside(v[0])]
    idle_s, idle_calls, t = 0.0, 0, T0
    while t < T0 + days * DAY_S:
        if week.state_at(t) is None and not qw.watched_at(viewers, t):
            idle_s += 10.0
        t += 10.0
    for t in spotify.requests:
        if week.state_at(t) is None and not qw.watched_at(viewers, t):
            idle_calls += 1
    lifetimes = [
        (week.changes[i + 1].at if i + 1 < len(week.changes) else math.inf) - c.at
        for i, c in enumerate(week.changes)
        if c.kind in UNPREDICTABLE and outside(c.at) and qw.watched_at(viewers, c.at)
    ]
    best = even_bound.bound(
        start=T0,
        end=T0 + days * DAY_S,
        watched_music=lambda t: outside(t) and qw.watched_at(viewers, t) and playing_at(week, t),
        lifetimes=lifetimes,
        budget=min(scenario.budget, qw.SPOTIFY_QUOTA),
        least_s=settings_for(scenario).poll_interval,
    )
    unwatched_views = [
        (t, bisect.bisect_right(week.starts, t))
        for t in viewers.readme
        if outside(t) and playing_at(week, t) and not qw.watched_at(viewers, t)
    ]
    paying = even_bound.bound_paying_views(
        start=T0,
        end=T0 + days * DAY_S,
        watched_music=lambda t: outside(t) and qw.watched_at(viewers, t) and playing_at(week, t),
        views=unwatched_views,
        lifetimes=lifetimes,
        budget=min(scenario.budget, qw.SPOTIFY_QUOTA),
        least_s=settings_for(scenario).poll_interval,
    )
    outage_h = scenario.outage[1] / 3600 if scenario.outage else 0.0
    outage_calls = sum(1 for t in spotify.requests if down[0] <= t < down[1])
    return {
        "week": scenario.name,
        "requests": len(spotify.requests),
        "quota_exceeded": len(spotify.refused),
        "lockouts": len(qw.lockouts(spotify.refused)),
        "max_24h": qw.max_rolling(spotify.requests),
        "dark_h": sum(spells) / 3600,
        "dark_outside_outage_h": max(0.0, sum(spells) / 3600 - outage_h),
        "longest_dark_h": max(spells, default=0.0) / 3600,
        "stream_p50_s": median(stream) if stream else 0.0,
        "stream_p90_s": pct(stream, 90),
        "stream_missed": sum(1 for d in stream if d == math.inf) / max(1, len(stream)),
        "view_p50_s": median(view) if view else 0.0,
        "view_p90_s": pct(view, 90),
        "view_missed": sum(1 for d in view if d == math.inf) / max(1, len(view)),
        "views_playing": len(playing_views),
        "views_playing_right": sum(1 for v in playing_views if v[1]) / max(1, len(playing_views)),
        "idle_calls_per_hour": idle_calls / (idle_s / 3600) if idle_s else 0.0,
        "p90_target_s": scenario.p90_target_s,
        "budget": scenario.budget,
        "restarts": r.restarts,
        "outage_calls": outage_calls,
        "even_interval_s": best.interval_s,
        "even_watched_h": best.watched_h,
        "even_p90_s": best.p90_s,
        "even_missed": best.never_shown,
        "paying_interval_s": paying.interval_s,
        "paying_p90_s": paying.p90_s,
        "paying_missed": paying.never_shown,
    }


def verdict(m: dict[str, Any]) -> list[str]:
    """The targets this week misses (empty: all met); a miss that the even poller
    (bench/even_bound.py) makes too is marked as the budget's, not the allocator's, and
    one it makes once it pays for views and tokens, as the budget's once views are right."""
    missed = []
    if m["budget"] > qw.BUDGET:  # a budget above the quota: at most one lockout
        return ["lockouts"] if m["lockouts"] > 1 else []
    if m["quota_exceeded"]:
        missed.append("QUOTA_EXCEEDED")
    if m["dark_outside_outage_h"] > 0.5:
        missed.append("dark")
    target = m["p90_target_s"]
    if m["stream_p90_s"] > target or m["view_p90_s"] > target:
        missed.append("p90" + _beyond(m["even_p90_s"] > target, m["paying_p90_s"] > target))
    if m["stream_missed"] >= 0.02 or m["view_missed"] >= 0.02:
        missed.append("never shown" + _beyond(m["even_missed"] >= 0.02, m["paying_missed"] >= 0.02))
    if m["views_playing_right"] < 0.90:
        missed.append("views right")
    if m["idle_calls_per_hour"] > 8:
        missed.append("idle")
    return missed


def _beyond(even: bool, paying: bool) -> str:
    if even:
        return " (so does the even poller)"
    return " (so does the even poller paying for views)" if paying else ""


def fmt(value: float) -> str:
    return "∞" if value == math.inf else f"{value:.0f}"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| week | QUOTA_EXCEEDED (lockouts) | max calls in 24 h | h paused or stale while "
        "music played (longest) | unpredictable to a stream p50 / p90 s (never shown) | "
        "to a view p50 / p90 s (never shown) | views right while music played | idle calls "
        "an hour | the even poller's best: interval s, p90 s (never shown) | paying for "
        "views and tokens too | targets |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in results:
        missed = verdict(m)
        rows.append(
            f"| {m['week']} | {m['quota_exceeded']:.0f} ({m['lockouts']:.0f}) | "
            f"{m['max_24h']:,.0f} | "
            f"{m['dark_h']:.2f} ({m['longest_dark_h']:.2f}) | "
            f"{fmt(m['stream_p50_s'])} / {fmt(m['stream_p90_s'])} "
            f"({100 * m['stream_missed']:.1f} %) | "
            f"{fmt(m['view_p50_s'])} / {fmt(m['view_p90_s'])} ({100 * m['view_missed']:.1f} %) | "
            f"{100 * m['views_playing_right']:.1f} % | {m['idle_calls_per_hour']:.1f} | "
            f"{fmt(m['even_interval_s'])}, {fmt(m['even_p90_s'])} "
            f"({100 * m['even_missed']:.1f} %) | "
            f"{fmt(m['paying_interval_s'])}, {fmt(m['paying_p90_s'])} "
            f"({100 * m['paying_missed']:.1f} %) | "
            f"{'met' if not missed else '**missed: ' + ', '.join(missed) + '**'} |"
        )
    return "\n".join(rows)


async def measure_one(scenario: Scenario, days: int, seed: int) -> dict[str, Any]:
    week = generate(random.Random(seed), days, scenario.listening)
    viewers = audience(random.Random(seed + 1), week, days, scenario.audience)
    result = await run(scenario, week, viewers, days)
    return measure(scenario, week, viewers, result, days)


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One week's runs (one per seed) as one row: the median of every number."""
    row = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = median([r[key] for r in runs])
    row["seeds"] = len(runs)
    return row


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--seeds", type=int, default=1, help="weeks per scenario (medians)")
    parser.add_argument("--only", default="", help="comma-separated week names")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    logging.disable(logging.WARNING)
    names = [n for n in args.only.split(",") if n]
    chosen = [s for s in SCENARIOS if not names or s.name in names]
    seeds = [args.seed + 1000 * k for k in range(args.seeds)]
    runs = {
        s.name: [asyncio.run(measure_one(s, args.days, seed)) for seed in seeds] for s in chosen
    }
    out(table([median_of(r) for r in runs.values()]))
    out(json.dumps(runs))


if __name__ == "__main__":
    main()
