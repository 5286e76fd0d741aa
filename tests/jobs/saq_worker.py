"""Run a saq worker inside a test, on real Redis (db 15) and a queue name no other test uses."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from redis.asyncio import Redis

from core.jobs.queue import CronJob, JobFunction
from core.jobs.saq_backend import SaqJobQueue, build_worker
from tests.support.fixtures import REDIS_URL


def unique_queue_name() -> str:
    return f"tjobs{uuid.uuid4().hex[:10]}"


async def forget_keys(pattern: str) -> None:
    """Delete the Redis keys matching ``pattern`` (a test's own prefix)."""
    redis = Redis.from_url(REDIS_URL)
    keys = [key async for key in redis.scan_iter(match=pattern)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def forget_queue(name: str) -> None:
    """Delete every key saq wrote for this queue (saq:<name>:* and saq:job:<name>:*)."""
    await forget_keys(f"saq:*{name}*")


@contextlib.asynccontextmanager
async def running_worker(
    queue: SaqJobQueue,
    functions: Iterable[JobFunction],
    cron_jobs: Iterable[CronJob],
    context: dict[str, Any],
) -> AsyncIterator[Any]:
    """A saq Worker processing ``queue`` until the block ends."""
    worker = build_worker(queue, functions, cron_jobs, context, concurrency=4)
    task = asyncio.create_task(worker.start())
    # start() makes a fresh stop event: asking it to stop before it got that far would be lost.
    while not worker.tasks and not task.done():
        await asyncio.sleep(0.01)
    try:
        yield worker
    finally:
        worker.event.set()  # what SIGTERM does
        await asyncio.wait_for(task, 10)


async def wait_for(predicate: Any, timeout: float) -> float:
    """Poll an async predicate until true; return the seconds it took (raise TimeoutError otherwise)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        if await predicate():
            return loop.time() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout} s")
