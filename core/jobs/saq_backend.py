"""saq on Redis: the API enqueues; ``difyd workers run`` processes jobs and cron schedules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from saq import CronJob as SaqCronJob
from saq import Queue, Worker

from core.jobs.queue import CronJob, JobFunction, job_name


class SaqJobQueue:
    def __init__(self, redis_url: str, name: str) -> None:
        self.queue = Queue.from_url(redis_url, name=name)

    async def enqueue(self, name: str, **kwargs: Any) -> None:
        await self.queue.enqueue(name, **kwargs)

    async def start(self) -> None:
        await self.queue.connect()

    async def stop(self) -> None:
        await self.queue.disconnect()


def build_worker(
    queue: SaqJobQueue,
    functions: Iterable[JobFunction],
    cron_jobs: Iterable[CronJob],
    context: dict[str, Any],
    concurrency: int,
) -> Worker:
    crons = [SaqCronJob(cron.function, cron=cron.cron, timeout=cron.timeout) for cron in cron_jobs]
    named = [(job_name(fn), fn) for fn in functions]

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(context)

    return Worker(
        queue.queue,
        functions=named,
        cron_jobs=crons,
        concurrency=concurrency,
        startup=startup,
    )
