"""The license status: asked of its provider briefly cached, and the guard that admits licensed routes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import get

from core.hookspecs import hookimpl
from core.http.errors import ApiError
from core.http.ratelimit import RateLimit
from core.license import CACHE_SECONDS, FAILURE_CACHE_SECONDS, LicenseCheck, requires_license
from tests.support.probes import probe_client, probe_host

LICENSED_BUCKET = RateLimit("licensed_probe:ip", 2, 3600)


@get("/licensed", guards=[requires_license(), LICENSED_BUCKET.per_ip_guard()])
async def licensed() -> dict[str, bool]:
    return {"ok": True}


def _license_required() -> ApiError:
    return ApiError(403, "this feature needs an active license", code="license_required")


@get("/licensed-403", guards=[requires_license(_license_required)])
async def licensed_403() -> dict[str, bool]:
    return {"ok": True}


class LicenseProvider:
    """Answers whatever the test sets; counts how often it was asked; may wait on a gate or fail."""

    def __init__(self, status: Any = "active") -> None:
        self.status = status
        self.calls = 0
        self.gate: asyncio.Event | None = None

    @hookimpl
    def license_status(self, ctx: Any) -> Any:
        async def answer() -> Any:
            self.calls += 1
            if self.gate is not None:
                await self.gate.wait()
            if isinstance(self.status, Exception):
                raise self.status
            return self.status

        return answer()

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [licensed, licensed_403]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unlicensed_route_is_a_plain_404_that_spends_no_bucket(make_settings, backend):
    """Without an admitting license the route answers exactly like one that does not exist, before
    its rate limit counts the request: refused requests leave the bucket whole for licensed use."""
    provider = LicenseProvider(status="none")
    async with probe_host(make_settings, {"license": provider}) as ctx, probe_client(ctx) as client:
        missing = await client.get("/no-such-route")
        for _ in range(5):
            refused = await client.get("/licensed")
            assert refused.status_code == 404
            assert refused.json() == missing.json()
        provider.status = "active"
        ctx.license.forget()
        assert [(await client.get("/licensed")).status_code for _ in range(3)] == [200, 200, 429]


async def test_a_route_may_refuse_with_its_own_answer(make_settings, backend):
    """``requires_license(refusal)``: e.g. 403 license_required for a surface that exists on every edition."""
    provider = LicenseProvider(status="expired")
    async with probe_host(make_settings, {"license": provider}) as ctx, probe_client(ctx) as client:
        response = await client.get("/licensed-403")
        assert response.status_code == 403 and response.json()["code"] == "license_required"


async def test_only_active_and_expiring_admit(make_settings, backend):
    """Every status but active and expiring denies, and so does one this core does not know."""
    provider = LicenseProvider()
    async with probe_host(make_settings, {"license": provider}) as ctx:
        verdicts = {}
        for status in ["active", "expiring", "expired", "inactive", "lost", "none", "suspended", 42]:
            provider.status = status
            ctx.license.forget()
            verdicts[status] = await ctx.license.admits()
        assert verdicts == {
            "active": True, "expiring": True, "expired": False, "inactive": False, "lost": False,
            "none": False, "suspended": False, 42: False,
        }
        provider.status = "suspended"
        ctx.license.forget()
        assert await ctx.license.status() == "lost"  # shown as lost, never as what it claimed


async def test_status_is_asked_once_per_interval(make_settings, backend):
    """A busy licensed route costs its provider one call per interval; a lapse is seen after it."""
    provider = LicenseProvider("active")
    async with probe_host(make_settings, {"license": provider}) as ctx:
        clock = Clock()
        check = LicenseCheck(ctx, clock=clock)
        assert all([await check.admits() for _ in range(50)])
        assert provider.calls == 1
        provider.status = "expired"
        clock.now += CACHE_SECONDS - 0.1
        assert await check.admits()  # still within the interval
        clock.now += 0.2
        assert not await check.admits()
        assert provider.calls == 2


async def test_a_failing_provider_denies_and_is_asked_again_soon(make_settings, backend):
    """A provider that raises denies (never a 500), and is asked again after a short pause."""
    provider = LicenseProvider(RuntimeError("license server unreachable"))
    async with probe_host(make_settings, {"license": provider}) as ctx:
        clock = Clock()
        check = LicenseCheck(ctx, clock=clock)
        assert not await check.admits() and await check.status() == "lost"
        provider.status = "active"
        clock.now += FAILURE_CACHE_SECONDS + 0.1
        assert await check.admits()
        assert provider.calls == 2


async def test_concurrent_checks_share_one_question(make_settings, backend):
    """Twenty requests arriving while the status is being asked wait for that one answer."""
    provider = LicenseProvider("active")
    provider.gate = asyncio.Event()
    async with probe_host(make_settings, {"license": provider}) as ctx:
        check = LicenseCheck(ctx)
        waiting = [asyncio.ensure_future(check.admits()) for _ in range(20)]
        while provider.calls == 0:
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)  # every other check has reached the lock by now
        assert not any(task.done() for task in waiting)
        provider.gate.set()
        assert all(await asyncio.gather(*waiting))
        assert provider.calls == 1
