"""Fixtures of this plugin's tests: the app on the test's own loop, the seeded world, real tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar

from plugins.openapi_apps.tests.world import World, build_world
from tests.support.tokens import device_login

# What difyctl 0.1.0-rc.1 sends on every request.
UA = "difyctl/0.1.0-rc.1 (linux; x64; rc)"


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and an httpx client on this loop.

    Litestar's AsyncTestClient serves from a second loop in a thread; on PostgreSQL + Redis the
    connections the test itself uses (seeding, SQL counting, cache entries) would then cross loops.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(scope, inbox.get, outbox.put))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            http.app = app  # type: ignore[attr-defined]  # tests.support.tokens reaches the host through it
            yield http
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(app) as http:
        yield http


@pytest.fixture
async def world(host: Any) -> World:
    return await build_world(host)


async def token_headers(client: Any, person: Any) -> dict[str, str]:
    """The headers difyctl sends, with a fresh ``dfoa_`` token from the real device flow."""
    payload = await device_login(client, person)
    return {"Authorization": f"Bearer {payload['token']}", "User-Agent": UA}


@pytest.fixture
async def alice(client: Any, world: World) -> dict[str, str]:
    return await token_headers(client, world.alice)
