"""Jobs in tests: on the PostgreSQL + Redis backend they run on saq, through a real worker.

``saq_worker(ctx)`` runs a saq Worker on the test's own event loop for as long as a test's app runs
(``fixtures.running`` starts one when the host's ``jobs.backend`` is saq), so what a plugin enqueues
reaches its job function through Redis exactly as in production; the queue's keys are deleted after.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from core.context import HostContext
from core.jobs.catalog import JobCatalog
from core.jobs.saq_backend import SaqJobQueue, build_worker


def unique_queue_name() -> str:
    return f"tjobs{uuid.uuid4().hex[:10]}"


async def forget_keys(redis_url: str, pattern: str) -> None:
    """Delete the Redis keys matching ``pattern`` (a test's own prefix)."""
    redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        keys = [key async for key in redis.scan_iter(match=pattern)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def forget_queue(redis_url: str, name: str) -> None:
    """Delete every key saq wrote for this queue (saq:<name>:* and saq:job:<name>:*)."""
    await forget_keys(redis_url, f"saq:*{name}*")


@contextlib.asynccontextmanager
async def running_worker(
    queue: SaqJobQueue, catalog: JobCatalog, context: dict[str, Any]
) -> AsyncIterator[Any]:
    """A saq Worker processing ``queue`` until the block ends."""
    worker = build_worker(queue, catalog, context, concurrency=4)
    task = asyncio.create_task(worker.start())
    # start() makes a fresh stop event: asking it to stop before it got that far would be lost.
    while not worker.tasks and not task.done():  # noqa: ASYNC110 - saq offers no started event
        await asyncio.sleep(0.01)
    try:
        yield worker
    finally:
        worker.event.set()  # what SIGTERM does
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def saq_worker(ctx: HostContext) -> AsyncIterator[None]:
    """A worker for the host's own jobs and crons while the block runs, when its backend is saq."""
    if not isinstance(ctx.jobs, SaqJobQueue):
        yield
        return
    try:
        async with running_worker(ctx.jobs, ctx.jobs.catalog, {"host": ctx}):
            yield
    finally:
        with contextlib.suppress(Exception):  # a test that stopped its Redis has nothing to clean
            await forget_queue(ctx.settings.redis.url, ctx.settings.jobs.queue)


async def wait_for(predicate: Any, timeout: float) -> float:
    """Poll an async predicate until true; return the seconds it took (raise TimeoutError otherwise)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        if await predicate():
            return loop.time() - started
        await asyncio.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout} s")
