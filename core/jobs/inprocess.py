"""In-process job runner for the embedded default: asyncio tasks plus a cron loop.

It behaves like a saq worker where a caller could notice: jobs are looked up by the same names, run
with the same timeouts, a failing job is logged and never reaches the caller or the app, and a cron
run is skipped while the previous run of the same schedule is still going (saq's unique cron key).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
from collections.abc import Callable
from typing import Any

import structlog
from croniter import croniter

from core.jobs.catalog import JobCatalog
from core.jobs.queue import JOB_TIMEOUT_SECONDS, JobFunction

# A stopping server waits this long for running jobs (a stuck job must not hold Ctrl-C for minutes).
SHUTDOWN_GRACE_SECONDS = 10.0


def _log() -> Any:
    # A fresh logger per (rare) failure honours the logging configuration of the moment.
    return structlog.get_logger("difyd.jobs")


# The cron loop looks at its clock at least this often, so a clock a test moves forward is noticed.
CLOCK_TICK_SECONDS = 1.0


class InProcessJobQueue:
    def __init__(
        self,
        catalog: JobCatalog,
        concurrency: int = 10,
        clock: Callable[[], float] = time.time,
        tick: float = CLOCK_TICK_SECONDS,
    ):
        # Epoch seconds: the host's clock (HostContext.clock), which tests move without sleeping.
        self.clock = clock
        self.tick = tick
        self.catalog = catalog
        self.cron_jobs = catalog.crons
        self.context: dict[str, Any] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cron_task: asyncio.Task[Any] | None = None

    async def enqueue(self, job: str | JobFunction, **kwargs: Any) -> None:
        self._spawn(job, kwargs, JOB_TIMEOUT_SECONDS)

    async def run(self, job: str | JobFunction, timeout: float = JOB_TIMEOUT_SECONDS, **kwargs: Any) -> Any:
        _, function = self.catalog.function(job)
        async with self._slots, asyncio.timeout(timeout):
            return await function(self.context, **kwargs)

    def _spawn(self, job: str | JobFunction, kwargs: dict[str, Any], timeout: float) -> asyncio.Task[Any]:
        name, function = self.catalog.function(job)
        task = asyncio.create_task(self._run(name, function, kwargs, timeout), name=f"job:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, name: str, function: JobFunction, kwargs: dict[str, Any], timeout: float) -> None:
        async with self._slots:
            try:
                async with asyncio.timeout(timeout):
                    await function(self.context, **kwargs)
            except Exception as exc:
                _log().error("job_failed", job=name, error_type=type(exc).__name__, exc_info=exc)

    async def start(self) -> None:
        if self.cron_jobs and self._cron_task is None:
            self._cron_task = asyncio.create_task(self._cron_loop(), name="jobs:cron")

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)

    async def _cron_loop(self) -> None:
        upcoming = [
            croniter(named.cron.cron, self._now()).get_next(datetime.datetime) for named in self.cron_jobs
        ]
        running: list[asyncio.Task[Any] | None] = [None] * len(self.cron_jobs)
        while True:
            wait = (min(upcoming) - self._now()).total_seconds()
            await asyncio.sleep(min(max(wait, 0.01), self.tick))
            now = self._now()
            for index, named in enumerate(self.cron_jobs):
                if upcoming[index] > now:
                    continue
                # Next run counted from now, not from the missed slot: after a stall (a suspended
                # laptop) a schedule runs once, not once per missed slot.
                upcoming[index] = croniter(named.cron.cron, now).get_next(datetime.datetime)
                previous = running[index]
                if previous is not None and not previous.done():
                    continue
                try:
                    running[index] = self._spawn(named.name, {}, named.cron.timeout)
                except Exception as exc:  # the loop serves every schedule: one failure must not end it
                    _log().error("cron_failed", job=named.name, error_type=type(exc).__name__)

    async def drain(self) -> None:
        """Wait for every queued job (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop the cron loop, let running jobs finish for ``grace`` seconds, then cancel the rest."""
        if self._cron_task is not None:
            self._cron_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cron_task
            self._cron_task = None
        if not self._tasks:
            return
        _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            _log().warning("job_cancelled_at_shutdown", job=task.get_name().removeprefix("job:"))
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
