"""jobs / cron_jobs: a plugin's job functions run on the configured runner, on demand and on schedule."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, get, post

from core.hookspecs import hookimpl
from core.jobs import CronJob, host_of
from tests.support.probes import probe_client, probe_host


async def probe_stamp(ctx: dict[str, Any], *, label: str) -> None:
    await host_of(ctx).state.set(f"probe:stamp:{label}", b"done", ttl=60)


async def probe_tick(ctx: dict[str, Any]) -> None:
    await host_of(ctx).state.set("probe:ticked", b"yes", ttl=60)


@post("/probe/stamp/{label:str}", status_code=202)
async def enqueue_stamp(request: Request, label: str) -> None:
    await request.app.state.host.jobs.enqueue("probe_stamp", label=label)


@get("/probe/state/{key:str}")
async def read_state(request: Request, key: str) -> dict[str, Any]:
    value = await request.app.state.host.state.get(f"probe:{key}")
    return {"value": value.decode() if value else None}


class JobsProbe:
    @hookimpl
    def jobs(self, ctx: Any) -> list[Any]:
        return [probe_stamp]

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [enqueue_stamp, read_state]


class CronProbe:
    @hookimpl
    def cron_jobs(self, ctx: Any) -> list[Any]:
        # Six fields: croniter's seconds field, so the test need not wait for a minute boundary.
        return [CronJob(probe_tick, "* * * * * *", timeout=10)]

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [read_state]


async def _eventually(client: Any, key: str, seconds: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = (await client.get(f"/probe/state/{key}")).json()["value"]
        if value is not None or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_hook_jobs(make_settings, backend):
    """A job function a plugin registers runs once enqueued, with the host context it needs."""
    async with probe_host(make_settings, {"jobs_probe": JobsProbe()}) as ctx, probe_client(ctx) as client:
        assert (await client.get("/probe/state/stamp:a")).json() == {"value": None}
        assert (await client.post("/probe/stamp/a")).status_code == 202
        assert await _eventually(client, "stamp:a") == "done"


async def test_hook_cron_jobs(make_settings, backend):
    """A plugin's cron schedule runs its job without anyone enqueueing it."""
    async with probe_host(make_settings, {"cron_probe": CronProbe()}) as ctx, probe_client(ctx) as client:
        assert await _eventually(client, "ticked") == "yes"
