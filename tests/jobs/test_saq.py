"""saq on real Redis: jobs enqueued by name reach a worker, with all their arguments, and crons run."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from core.jobs import CronJob
from core.jobs.catalog import JobCatalog
from core.jobs.saq_backend import SaqJobQueue
from core.testing.fixtures import REDIS_URL
from core.testing.jobs import forget_queue, running_worker, unique_queue_name, wait_for


async def store_arguments(ctx: dict[str, Any], **kwargs: Any) -> None:
    ctx["events"].append(kwargs)


async def tick(ctx: dict[str, Any]) -> None:
    ctx["ticks"].append(time.monotonic())


CATALOG = JobCatalog.of([store_arguments], [CronJob(tick, "* * * * * *")])


@pytest.fixture
async def queue() -> AsyncIterator[SaqJobQueue]:
    name = unique_queue_name()
    queue = SaqJobQueue(REDIS_URL, name, CATALOG)
    await queue.start()
    yield queue
    await queue.stop()
    await forget_queue(REDIS_URL, name)


async def test_enqueued_job_reaches_worker_with_all_arguments(queue: SaqJobQueue):
    """Arguments named like saq's job options (key, timeout, retries) still reach the job function."""
    context: dict[str, Any] = {"events": []}
    async with running_worker(queue, JobCatalog.of([store_arguments]), context):
        await queue.enqueue("store_arguments", key="k1", timeout=3, retries=7, ticket="t")

        async def arrived() -> bool:
            return bool(context["events"])

        await wait_for(arrived, 10)
    assert context["events"] == [{"key": "k1", "timeout": 3, "retries": 7, "ticket": "t"}]


async def test_worker_registers_jobs_by_job_name(queue: SaqJobQueue):
    """The worker knows each job and cron by the same name the API enqueues."""

    def factory() -> Any:
        async def nested_cron(ctx: dict[str, Any]) -> None:
            return None

        return nested_cron

    catalog = JobCatalog.of([store_arguments], [CronJob(factory(), "0 0 1 1 *")], plugin="probe")
    async with running_worker(queue, catalog, {}) as worker:
        assert {"probe.store_arguments", "probe.nested_cron"} <= set(worker.functions)
        assert not any("<locals>" in name for name in worker.functions)


async def test_cron_with_seconds_runs_on_saq(queue: SaqJobQueue):
    """saq's CronJob accepts a six-field '* * * * * *' schedule and runs it within a few seconds."""
    context: dict[str, Any] = {"ticks": []}
    started = time.monotonic()
    async with running_worker(queue, JobCatalog.of([], [CronJob(tick, "* * * * * *")]), context):

        async def ticked_twice() -> bool:
            return len(context["ticks"]) >= 2

        await wait_for(ticked_twice, 10)
        # saq keeps the schedule under a unique key named after the job: one name on both backends.
        assert await queue.queue.job("cron:tick") is not None
    assert context["ticks"][0] - started < 4
