"""Hook implementations of the example plugin.

- setting ``greeting`` (``[plugin.hello] greeting = "..."``, ``DIFYD_PLUGINS__HELLO__GREETING`` or
  ``HELLO_GREETING``);
- route ``GET /hello`` answers the greeting; ``POST /hello/jobs`` enqueues the ``hello_record`` job;
- route ``GET /hello/me`` answers the bearer token's id: a guarded route that does nothing else, so the
  benchmarks measure the bearer pipeline alone (bench/core_bench.py);
- job ``hello_record`` writes ``hello:done:<ticket>`` into the state store, where ``GET /hello/jobs/<ticket>``
  finds it. On the embedded default it runs in-process; in production a saq worker runs it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, QueryParameter

from core.api import (
    ACCOUNT,
    BEARER_GUARDED,
    EXTERNAL_SSO,
    HostContext,
    bearer_guard,
    current_subject,
    error_responses,
    hookimpl,
    host_of,
)

__version__ = "1.2.0"
NAME = "hello"


class HelloSettings(msgspec.Struct, forbid_unknown_fields=True):
    """``[plugin.hello]``: unknown keys are refused, so a typo fails at startup instead of being ignored."""

    greeting: str = "hello"
    # Extra environment names for keys of this section (besides DIFYD_PLUGINS__HELLO__GREETING).
    env_aliases: ClassVar[dict[str, str]] = {"HELLO_GREETING": "greeting"}


async def hello_record(ctx: dict[str, Any], *, ticket: str, who: str) -> None:
    """The job: the same function runs in-process (embedded) or on a saq worker (production)."""
    host = host_of(ctx)
    await host.state.set(f"hello:done:{ticket}", who.encode(), ttl=600)


@get("/hello", summary="The configured greeting", responses=error_responses())
async def say_hello(request: Request) -> dict[str, str]:
    ctx: HostContext = request.app.state.host
    return {"greeting": ctx.plugin_settings(NAME).greeting}


@get(
    "/hello/me",
    summary="The bearer token's id",
    guards=[bearer_guard(accept={ACCOUNT, EXTERNAL_SSO})],
    responses=error_responses(*BEARER_GUARDED),  # every status it can answer, documented in /schema
)
async def hello_me(request: Request) -> dict[str, str]:
    return {"token_id": current_subject(request).token_id}


@post("/hello/jobs", summary="Enqueue the example job", status_code=202, responses=error_responses(422))
async def enqueue_hello(
    request: Request, who: Annotated[str, QueryParameter(max_length=100)] = "world"
) -> dict[str, str]:
    ctx: HostContext = request.app.state.host
    ticket = uuid.uuid4().hex
    await ctx.jobs.enqueue("hello_record", ticket=ticket, who=who)
    return {"ticket": ticket}


@get("/hello/jobs/{ticket:str}", summary="Whether the example job has run", responses=error_responses())
async def hello_job_status(request: Request, ticket: FromPath[str]) -> dict[str, Any]:
    ctx: HostContext = request.app.state.host
    value = await ctx.state.get(f"hello:done:{ticket}")
    return {"done": value is not None, "who": value.decode() if value else None}


@hookimpl
def plugin_settings() -> type[HelloSettings]:
    return HelloSettings


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"


@hookimpl
def route_handlers(ctx: HostContext) -> list[Any]:
    return [say_hello, hello_me, enqueue_hello, hello_job_status]


@hookimpl
def jobs(ctx: HostContext) -> list[Any]:
    return [hello_record]
