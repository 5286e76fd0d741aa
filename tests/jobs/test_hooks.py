"""The ``jobs`` and ``cron_jobs`` hooks: what a plugin lists there runs, on both backends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from core.app import build_context, build_plugins, create_app
from core.hookspecs import hookimpl
from core.jobs import CronJob, host_of
from core.jobs.saq_backend import SaqJobQueue
from core.testing.fixtures import REDIS_URL, serve
from core.testing.jobs import forget_queue, running_worker, unique_queue_name, wait_for
from core.testing.token_issuer import TOKEN_ISSUER


async def test_hook_jobs(make_settings, probe_plugins):
    """A plugin's job (the example plugin's hello_record) enqueued over HTTP runs and reports done: on
    the in-process runner, and on the production backend through Redis to a saq worker."""
    settings = make_settings(**{"plugins.enabled": ["hello", TOKEN_ISSUER]})  # hello has a bearer route
    ctx = build_context(settings, build_plugins(settings, probe_plugins))
    async with serve(create_app(ctx=ctx)) as client:
        response = await client.post("/hello/jobs", params={"who": "ada"})
        assert response.status_code == 202
        ticket = response.json()["ticket"]
        for _ in range(100):
            status = (await client.get(f"/hello/jobs/{ticket}")).json()
            if status["done"]:
                break
            await asyncio.sleep(0.05)
        assert status == {"done": True, "who": "ada"}


async def heartbeat(ctx: dict[str, Any]) -> None:
    await host_of(ctx).state.incr("cron:heartbeat", ttl=60)


class HeartbeatPlugin:
    """A plugin with one cron schedule, every second (six-field cron)."""

    @hookimpl
    def cron_jobs(self, ctx: Any) -> list[CronJob]:
        return [CronJob(heartbeat, "* * * * * *")]


@pytest.mark.parametrize("jobs_backend", ["inprocess", "saq"])
async def test_hook_cron_jobs(make_settings, jobs_backend: str):
    """A plugin's cron schedule runs within seconds, on the in-process runner and on a saq worker."""
    queue_name = unique_queue_name()
    overrides = {"plugins.enabled": [], "jobs.backend": jobs_backend, "jobs.queue": queue_name}
    settings = make_settings(**overrides)
    plugins = build_plugins(settings)
    plugins.manager.register(HeartbeatPlugin(), name="test_heartbeat")
    ctx = build_context(settings, plugins)

    async def beat() -> bool:
        return await ctx.state.get("cron:heartbeat") is not None

    try:
        if isinstance(ctx.jobs, SaqJobQueue):
            await ctx.jobs.start()
            async with running_worker(ctx.jobs, ctx.jobs.catalog, {"host": ctx}):
                await wait_for(beat, 10)
            await ctx.jobs.stop()
        else:
            await ctx.jobs.start()
            await wait_for(beat, 5)
            await ctx.jobs.stop()
    finally:
        await forget_queue(REDIS_URL, queue_name)
        await ctx.state.close()
        await ctx.engine.dispose()
