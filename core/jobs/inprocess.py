"""In-process job runner for the embedded default: asyncio tasks plus a cron loop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import Iterable
from typing import Any

import structlog
from croniter import croniter

from core.jobs.queue import CronJob, JobFunction, job_name

log = structlog.get_logger("difyd.jobs")


class InProcessJobQueue:
    def __init__(self, functions: Iterable[JobFunction], cron_jobs: Iterable[CronJob], concurrency: int = 10):
        self.functions = {job_name(fn): fn for fn in functions}
        for cron in cron_jobs:
            self.functions.setdefault(job_name(cron.function), cron.function)
        self.cron_jobs = list(cron_jobs)
        self.context: dict[str, Any] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._cron_task: asyncio.Task[Any] | None = None

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        function = self.functions.get(name)
        if function is None:
            raise LookupError(f"no job function named {name!r}")
        task = asyncio.create_task(self._run(name, function, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, function: JobFunction, kwargs: dict[str, Any]) -> None:
        async with self._slots:
            try:
                await function(self.context, **kwargs)
            except Exception as exc:
                log.error("job_failed", job=name, error_type=type(exc).__name__, exc_info=exc)

    async def start(self) -> None:
        if self.cron_jobs and self._cron_task is None:
            self._cron_task = asyncio.create_task(self._cron_loop())

    async def _cron_loop(self) -> None:
        now = datetime.datetime.now(datetime.UTC)
        schedules = [(cron, croniter(cron.cron, now)) for cron in self.cron_jobs]
        upcoming = [schedule.get_next(datetime.datetime) for _, schedule in schedules]
        while True:
            wait = min(upcoming) - datetime.datetime.now(datetime.UTC)
            await asyncio.sleep(max(wait.total_seconds(), 0.05))
            now = datetime.datetime.now(datetime.UTC)
            for index, (cron, schedule) in enumerate(schedules):
                if upcoming[index] <= now:
                    await self.enqueue(job_name(cron.function))
                    upcoming[index] = schedule.get_next(datetime.datetime)

    async def drain(self) -> None:
        """Wait for every queued job (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cron_task
            self._cron_task = None
        await self.drain()
