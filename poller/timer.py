"""The poller's clock-driven jobs behind one small interface.

Production runs them on APScheduler's asyncio scheduler; the week benchmark runs the same
Poller on a discrete-event queue and a simulated clock by handing it another Timer, so it
drives the production code without overriding anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

Job = Callable[[], Awaitable[None]]


class Timer(Protocol):
    def every(self, period_s: float, job: Job) -> None:
        """Run `job` every `period_s`, never two at once."""
        ...

    def once(self, delay_s: float, job: Job) -> None:
        """Run `job` once after `delay_s`, replacing the one set before (one poll job)."""
        ...

    def stop(self) -> None: ...


class SchedulerTimer:
    """APScheduler in the running loop: coalesced, one instance per job."""

    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        self.scheduler.start()

    def every(self, period_s: float, job: Job) -> None:
        self.scheduler.add_job(
            job,
            IntervalTrigger(seconds=period_s),
            id=f"every-{getattr(job, '__name__', id(job))}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def once(self, delay_s: float, job: Job) -> None:
        self.scheduler.add_job(
            job,
            DateTrigger(run_date=datetime.now().astimezone() + timedelta(seconds=delay_s)),
            id="once",
            replace_existing=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def stop(self) -> None:
        self.scheduler.shutdown(wait=False)
