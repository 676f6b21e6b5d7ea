"""Liveness, readiness and metrics: the routes monitoring reads.

Redis is asked with a deadline and at most once a second (web/read_cache.py), so a hung
Redis makes /readyz say so instead of hanging and a flood of requests never reaches Redis;
the decision itself is web/readiness.py.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.budget import effective_budget
from shared.heartbeat import token_days_left
from web.quota_metrics import budget_metrics
from web.read_cache import Snapshot
from web.readiness import readiness
from web.runtime import WebRuntime

NO_STORE = {"Cache-Control": "no-store"}


class Health:
    def __init__(self, runtime: WebRuntime) -> None:
        self.runtime = runtime

    def budget(self, snapshot: Snapshot | None) -> dict[str, Any]:
        """`{"calls24h", "budget", "pausedUntil"}`, and `learntQuota` with
        `learntUntil` (ms epoch) once a QUOTA_EXCEEDED taught the real quota: `budget` is
        then the lower one the poller spends, not SPOTIFY_DAILY_BUDGET, until then;
        calls24h null when Redis is away."""
        learnt = snapshot.learnt_quota if snapshot else None
        report: dict[str, Any] = {
            "calls24h": snapshot.calls_24h if snapshot else None,
            "budget": effective_budget(self.runtime.settings.daily_budget, learnt),
            "pausedUntil": snapshot.paused_until if snapshot else None,
        }
        if learnt is not None and snapshot is not None:
            report["learntQuota"] = learnt
            report["learntUntil"] = snapshot.learnt_until
        return report

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers=NO_STORE)

    async def readyz(self, request: Request) -> Response:
        runtime = self.runtime
        redis_error, snapshot = None, None
        try:
            snapshot = await runtime.redis_reads.get()  # at most once a second
        except Exception as exc:
            redis_error = type(exc).__name__
        beat = snapshot.heartbeat if snapshot else None
        status, report = readiness(
            redis_error=redis_error,
            beat=beat,
            now_ms=int(time.time() * 1000),
            stale_after_s=runtime.settings.stale_after_s,
        )
        report["spotify"] = self.budget(snapshot)  # a pause alone is not a 503
        report["stale"] = runtime.hub.document["stale"]
        report["subscribed"] = runtime.hub.redis_ok
        return JSONResponse(report, status, headers=NO_STORE)

    async def metrics(self, request: Request) -> Response:
        stats: dict[str, int] = {}
        days = None
        snapshot = None
        with contextlib.suppress(Exception):
            snapshot = await self.runtime.redis_reads.get()  # at most once a second
            stats, beat = snapshot.stats, snapshot.heartbeat
            if beat:
                days = token_days_left(beat["tokenAuthorizedAt"], int(time.time() * 1000))
        body = self.runtime.metrics.render(stats, days) + budget_metrics(self.budget(snapshot))
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
