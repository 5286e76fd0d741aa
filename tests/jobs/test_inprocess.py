"""The in-process runner of the embedded default: jobs by name, cron on time, failures survived."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

from core.jobs import CronJob
from core.jobs.catalog import JobCatalog
from core.jobs.inprocess import InProcessJobQueue
from core.jobs.queue import job_name
from core.plugins import PluginError


async def record(ctx: dict[str, Any], *, item: str) -> None:
    ctx["events"].append(item)


async def explode(ctx: dict[str, Any], *, item: str) -> None:
    raise RuntimeError(f"boom {item}")


def make_queue(*functions: Any, crons: list[CronJob] | None = None, concurrency: int = 10) -> Any:
    queue = InProcessJobQueue(JobCatalog.of(functions, crons or []), concurrency)
    queue.context["events"] = []
    return queue


async def test_enqueued_job_runs_with_its_arguments():
    """A job enqueued by name runs with the keyword arguments given."""
    queue = make_queue(record)
    await queue.start()
    await queue.enqueue("record", item="a")
    await queue.enqueue("record", item="b")
    await queue.stop()  # drains
    assert sorted(queue.context["events"]) == ["a", "b"]


async def test_unknown_job_name_is_refused():
    """Enqueuing a name no plugin registered fails at once with a clear error."""
    queue = make_queue(record)
    with pytest.raises(LookupError, match="no job named 'nope'; known jobs: record"):
        await queue.enqueue("nope")


async def test_failing_job_is_logged_and_the_runner_goes_on():
    """A job that raises is logged with its name; the caller is not affected and later jobs still run."""
    queue = make_queue(record, explode)
    with capture_logs() as logs:
        await queue.enqueue("explode", item="x")  # does not raise
        await queue.drain()
        await queue.enqueue("record", item="after")
        await queue.drain()
    assert queue.context["events"] == ["after"]
    failures = [entry for entry in logs if entry["event"] == "job_failed"]
    assert len(failures) == 1
    assert failures[0]["job"] == "explode" and failures[0]["error_type"] == "RuntimeError"
    assert failures[0]["log_level"] == "error"


async def test_concurrency_is_bounded():
    """No more jobs run at once than the configured concurrency."""
    running, peak = 0, 0

    async def slow(ctx: dict[str, Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    queue = make_queue(slow, concurrency=2)
    for _ in range(6):
        await queue.enqueue("slow")
    await queue.drain()
    assert peak == 2


async def test_duplicate_job_names_are_refused():
    """Two different functions under one job name stop startup instead of running the wrong code."""

    async def record(ctx: dict[str, Any], *, item: str) -> None:  # same name as the module-level one
        return None

    with pytest.raises(PluginError, match="plugin 'probe' has two job functions named 'record'"):
        JobCatalog.of([globals()["record"], record], plugin="probe")


async def test_invalid_cron_schedule_is_refused_at_startup():
    """A malformed cron schedule fails when the runner is built, not silently later."""
    expected = "plugin 'probe': cron schedule 'every minute' of job 'probe.record' is not valid"
    with pytest.raises(PluginError, match=re.escape(expected)):
        JobCatalog.of([], [CronJob(record, "every minute")], plugin="probe")


async def test_cron_with_seconds_runs_within_seconds():
    """A six-field schedule ('* * * * * *', every second) runs the job repeatedly within a few seconds."""
    ticks: list[float] = []

    async def tick(ctx: dict[str, Any]) -> None:
        ticks.append(time.monotonic())

    queue = make_queue(crons=[CronJob(tick, "* * * * * *")])
    started = time.monotonic()
    await queue.start()
    try:
        for _ in range(60):
            if len(ticks) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await queue.stop()
    assert len(ticks) >= 2
    assert ticks[0] - started <= 2.0
    assert 0.3 <= ticks[1] - ticks[0] <= 2.0  # one second apart, give or take a busy machine


async def test_cron_run_is_skipped_while_the_previous_one_runs():
    """A cron job slower than its schedule never overlaps itself (like saq's unique cron key)."""
    running, peak, runs = 0, 0, 0

    async def slow(ctx: dict[str, Any]) -> None:
        nonlocal running, peak, runs
        runs += 1
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(1.3)
        running -= 1

    queue = make_queue(crons=[CronJob(slow, "* * * * * *")])
    await queue.start()
    await asyncio.sleep(2.6)
    await queue.stop()
    assert runs >= 1
    assert peak == 1


async def test_cron_timeout_cancels_and_logs():
    """A cron run past its timeout is cancelled and logged as a failure; the schedule carries on."""
    started: list[float] = []

    async def stuck(ctx: dict[str, Any]) -> None:
        started.append(time.monotonic())
        await asyncio.sleep(3600)

    queue = make_queue(crons=[CronJob(stuck, "* * * * * *", timeout=1)])
    with capture_logs() as logs:
        await queue.start()
        for _ in range(50):
            if len(started) >= 2:
                break
            await asyncio.sleep(0.1)
        await queue.stop()
    assert len(started) >= 2  # the first run was cut off, so a later tick could start again
    failures = [entry for entry in logs if entry["event"] == "job_failed"]
    assert failures and failures[0]["job"] == "stuck" and failures[0]["error_type"] == "TimeoutError"


def test_job_name_is_the_function_name():
    """A job is known by its function's name, also when the function was made inside another one."""

    def factory() -> Any:
        async def sweep_orphans(ctx: dict[str, Any]) -> None:
            return None

        return sweep_orphans

    assert job_name(record) == "record"
    assert job_name(factory()) == "sweep_orphans"


async def test_stop_cancels_jobs_that_outlive_the_grace_period():
    """Stopping waits for running jobs only for the grace period, then cancels and logs the rest."""
    finished: list[str] = []

    async def quick(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(0.05)
        finished.append("quick")

    async def stuck(ctx: dict[str, Any]) -> None:
        await asyncio.sleep(3600)
        finished.append("stuck")

    queue = make_queue(quick, stuck)
    await queue.enqueue("quick")
    await queue.enqueue("stuck")
    with capture_logs() as logs:
        started = time.monotonic()
        await queue.stop(grace=0.3)
    assert time.monotonic() - started < 1.0
    assert finished == ["quick"]
    assert [entry["job"] for entry in logs if entry["event"] == "job_cancelled_at_shutdown"] == ["stuck"]


async def test_cron_follows_the_host_clock():
    """The runner reads the injectable clock: moving it past a schedule runs the job at once, without
    waiting for the wall clock (the same clock the plugins read, so tests move both together)."""
    now = [1_800_000_030.0]  # 30 s into a minute

    async def tick(ctx: dict[str, Any]) -> None:
        ctx["events"].append(now[0])

    catalog = JobCatalog.of([tick], [CronJob(tick, "* * * * *")])
    queue = InProcessJobQueue(catalog, clock=lambda: now[0], tick=0.01)
    queue.context["events"] = []
    await queue.start()
    try:
        await asyncio.sleep(0.1)
        assert queue.context["events"] == []  # the next minute has not come on this clock
        now[0] += 31  # one second past the minute
        for _ in range(50):
            if queue.context["events"]:
                break
            await asyncio.sleep(0.01)
        assert queue.context["events"] == [now[0]]
    finally:
        await queue.stop()
