"""``difyd jobs``: list the enabled plugins' jobs, run one here, or hand it to the workers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.asyncio import Redis

from core.settings import Settings


@pytest.fixture
def enabled_plugins() -> list[str]:
    return ["oauth_device", "hello"]


async def test_jobs_are_listed_by_plugin_with_their_schedules(difyd: Any):
    result = await difyd("jobs", "list", "--json")
    assert result.exit_code == 0, result.output
    jobs = {job["name"]: job for job in json.loads(result.output)}
    assert jobs["hello.hello_record"]["schedule"] is None
    assert jobs["oauth_device.flush_oauth_token_usage"]["schedule"] == "* * * * *"
    assert jobs["oauth_device.flush_oauth_token_usage"]["plugin"] == "oauth_device"


async def test_a_job_runs_here_by_its_bare_or_full_name_and_prints_its_result(difyd: Any):
    for name in ("purge_oauth_access_tokens", "oauth_device.purge_oauth_access_tokens"):
        result = await difyd("jobs", "run", name)
        assert (result.exit_code, result.output) == (0, "oauth_device.purge_oauth_access_tokens: 0\n")
    result = await difyd("jobs", "run", "hello_record", "--arg", "ticket=t", "--arg", "who=ada")
    assert (result.exit_code, result.output) == (0, "hello.hello_record: null\n")


async def test_an_unknown_job_is_one_line_naming_the_known_ones(difyd: Any):
    result = await difyd("jobs", "run", "nope")
    assert result.exit_code == 1
    assert result.output.startswith("Error: no job named 'nope'; known jobs: hello.hello_record, ")


async def test_enqueue_hands_the_job_to_the_workers_or_is_refused_when_there_are_none(
    difyd: Any, settings: Settings
):
    """On saq the job lands in the queue; the in-process runner lives in the server, and a task started
    in a short-lived command would die with it, so enqueueing there is refused, not lost."""
    result = await difyd("jobs", "run", "hello_record", "--arg", "ticket=t", "--enqueue")
    if settings.jobs.backend != "saq":
        assert result.exit_code == 1
        assert "no queue outside the server process" in result.output
        assert "difyd jobs run hello_record" in result.output
        return
    assert (result.exit_code, result.output) == (0, "enqueued hello.hello_record\n")
    redis = Redis.from_url(settings.redis.url)
    try:
        [key] = await redis.lrange(f"saq:{settings.jobs.queue}:queued", 0, -1)
        job = await redis.get(key)
    finally:
        await redis.aclose()
    assert job is not None and b"hello.hello_record" in job
