"""Liveness, readiness and version probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from core import __version__
from core.context import HostContext
from core.http.responses import error_responses

# A probe must answer before the orchestrator's own timeout, even when a dependency hangs
# (a blackholed address never refuses, it just never answers).
CHECK_TIMEOUT_SECONDS = 1.5


async def _database_answers(ctx: HostContext) -> bool:
    async with ctx.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return True


async def _within_timeout(check: Awaitable[bool]) -> bool:
    try:
        return bool(await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS))
    except Exception:
        return False


class Readiness(msgspec.Struct):
    ok: bool
    database: bool
    state: bool
    state_backend: str


class HealthController(Controller):
    tags = ["health"]

    @get("/healthz", summary="Liveness: the process answers", responses=error_responses())
    async def healthz(self) -> dict[str, bool]:
        return {"ok": True}

    @get(
        "/readyz",
        summary="Readiness: the database and the state store (Redis) answer",
        description="503 with the same body when either does not answer within 1.5 s.",
        responses={**error_responses(), 503: ResponseSpec(Readiness, description="not ready")},
    )
    async def readyz(self, request: Request) -> Response[Readiness]:
        ctx: HostContext = request.app.state.host
        database, state = await asyncio.gather(
            _within_timeout(_database_answers(ctx)), _within_timeout(ctx.state.ping())
        )
        ready = database and state
        body = Readiness(ok=ready, database=database, state=state, state_backend=ctx.settings.state.backend)
        return Response(body, status_code=200 if ready else 503)

    @get("/openapi/v1/_health", summary="Health of the /openapi/v1 surface", responses=error_responses())
    async def openapi_health(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/openapi/v1/_version", summary="Server version and edition", responses=error_responses())
    async def openapi_version(self, request: Request) -> dict[str, str]:
        ctx: HostContext = request.app.state.host
        return {"version": __version__, "edition": ctx.settings.console.edition}
