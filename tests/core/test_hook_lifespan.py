"""startup / shutdown: plugins run code when the application starts and stops."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from sqlalchemy import text

from core.hookspecs import hookimpl
from tests.support.probes import probe_client, probe_host


@get("/probe/started")
async def started(request: Request) -> dict[str, Any]:
    value = await request.app.state.host.state.get("probe:started")
    return {"started": value == b"yes"}


class LifespanProbe:
    """Records what ran; startup returns a coroutine, shutdown a coroutine function (both are awaited)."""

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [started]

    @hookimpl
    def startup(self, ctx: Any) -> Any:
        async def warm_up() -> None:
            await ctx.state.set("probe:started", b"yes", ttl=60)
            self.events.append("startup")

        return warm_up()

    @hookimpl
    def shutdown(self, ctx: Any) -> Any:
        async def flush() -> None:
            # The database is still open while plugins shut down: they may write a last row.
            async with ctx.engine.connect() as conn:
                self.events.append(f"shutdown:{(await conn.execute(text('SELECT 1'))).scalar()}")

        return flush


async def test_hook_startup(make_settings, backend):
    """Startup hooks have run (and been awaited) before the first request is served."""
    probe = LifespanProbe()
    async with probe_host(make_settings, {"lifespan_probe": probe}) as ctx:
        assert probe.events == []  # building the app runs nothing yet
        async with probe_client(ctx) as client:
            assert (await client.get("/probe/started")).json() == {"started": True}
            assert probe.events == ["startup"]


async def test_hook_shutdown(make_settings, backend):
    """Shutdown hooks run when the application stops, while the database is still reachable."""
    probe = LifespanProbe()
    async with probe_host(make_settings, {"lifespan_probe": probe}) as ctx:
        async with probe_client(ctx) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert "shutdown:1" not in probe.events
        assert probe.events == ["startup", "shutdown:1"]
