"""saq on Redis: the API enqueues; ``difyd workers run`` processes jobs and cron schedules."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from saq import CronJob as SaqCronJob
from saq import Job, Queue, Worker

from core.jobs.queue import JOB_TIMEOUT_SECONDS, CronJob, JobFunction, job_name, job_registry


class SaqJobQueue:
    def __init__(self, redis_url: str, name: str) -> None:
        self.queue = Queue.from_url(redis_url, name=name)

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        # A Job built here keeps every keyword for the function: saq's enqueue(name, **kwargs) would
        # take ``key``, ``timeout``, ``retries``... as job options instead.
        await self.queue.enqueue(Job(function=name, kwargs=kwargs, timeout=JOB_TIMEOUT_SECONDS))

    async def start(self) -> None:
        await self.queue.connect()

    async def stop(self) -> None:
        await self.queue.disconnect()


def _named_for_saq(function: JobFunction) -> JobFunction:
    """saq registers and schedules a cron under the function's ``__qualname__``; give it ``job_name``."""

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await function(ctx, **kwargs)

    run.__qualname__ = job_name(function)
    return run


def build_worker(
    queue: SaqJobQueue,
    functions: Iterable[JobFunction],
    cron_jobs: Iterable[CronJob],
    context: dict[str, Any],
    concurrency: int,
) -> Worker:
    cron_jobs = list(cron_jobs)
    registry = job_registry(functions, cron_jobs)
    crons = [
        SaqCronJob(_named_for_saq(cron.function), cron=cron.cron, timeout=cron.timeout) for cron in cron_jobs
    ]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(context)

    return Worker(
        queue.queue,
        # saq adds each cron's function under its (now job_name) qualname; the tuples name the rest.
        functions=list(registry.items()),
        cron_jobs=crons,
        concurrency=concurrency,
        startup=startup,
    )
