"""Liveness, readiness and version probes."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from sqlalchemy import text

from core import __version__
from core.context import HostContext


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", summary="Liveness: the process answers")
    async def healthz(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/readyz", summary="Readiness: the database and the state store (Redis) answer")
    async def readyz(self, request: Request) -> Response[dict[str, object]]:
        ctx: HostContext = request.app.state.host
        database = True
        try:
            async with ctx.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            database = False
        state = await ctx.state.ping()
        ready = database and state
        body = {"ok": ready, "database": database, "state": state, "state_backend": ctx.settings.state.backend}
        return Response(body, status_code=200 if ready else 503)

    @get("/openapi/v1/_health", summary="Health of the /openapi/v1 surface")
    async def openapi_health(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/openapi/v1/_version", summary="Server version and edition")
    async def openapi_version(self, request: Request) -> dict[str, str]:
        ctx: HostContext = request.app.state.host
        return {"version": __version__, "edition": ctx.settings.console.edition}
