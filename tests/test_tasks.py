"""shared/tasks.py: stopping a task that swallows a cancellation, as Python 3.11's
wait_for can (gh-86296), ends it instead of hanging the shutdown."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.tasks import cancel_and_wait


async def swallows_first_cancel(seen: list[str]) -> None:
    """A listener loop whose first cancellation is eaten, as inside get_message()."""
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if seen:
                raise
            seen.append("swallowed")


async def test_a_task_that_swallowed_a_cancellation_is_cancelled_again() -> None:
    seen: list[str] = []
    task = asyncio.create_task(swallows_first_cancel(seen))
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], timeout_s=5), 10)
    assert seen == ["swallowed"] and task.cancelled()


async def test_a_task_that_never_ends_is_given_up_on_after_the_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], timeout_s=0.3), 10)
    assert not task.done()
    assert "did not stop within 0.3 s: stubborn" in caplog.text
    release.set()
    task.cancel()
    await task


async def test_a_task_that_failed_before_the_stop_does_not_raise_from_it() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await cancel_and_wait([task])
    assert isinstance(task.exception(), RuntimeError)
