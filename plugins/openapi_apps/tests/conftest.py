"""Fixtures of this plugin's tests: the app on the test's own loop, the seeded world, real tokens."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.openapi_apps.tests.world import World, build_world
from tests.support.fixtures import serve  # noqa: F401  # re-exported for test modules
from tests.support.tokens import device_login

# What difyctl 0.1.0-rc.1 sends on every request.
UA = "difyctl/0.1.0-rc.1 (linux; x64; rc)"


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
