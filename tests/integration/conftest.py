"""Fixtures of the integration tests: the host runs every community plugin together, and tokens come
from the real device flow, as difyctl users get them.

A test belongs here when it needs more than one plugin (a plugin's own tests run with the core and
that plugin only), so it may import the helpers of each plugin's tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from plugins.oauth_device.tests.helpers import device_login
from plugins.openapi_apps.tests.conftest import headers
from plugins.openapi_apps.tests.world import World, build_world

ENABLED_PLUGINS = ["oauth_device", "openapi_apps"]


@pytest.fixture
def enabled_plugins() -> list[str]:
    return list(ENABLED_PLUGINS)


async def login_headers(client: Any, person: Any) -> dict[str, str]:
    """The headers difyctl sends after `difyctl auth login` (the device flow over HTTP) as this person."""
    payload = await device_login(client, person)
    return headers(payload["token"])


@pytest.fixture
async def world(host: Any) -> World:
    return await build_world(host)


@pytest.fixture
async def alice(client: Any, world: World) -> dict[str, str]:
    return await login_headers(client, world.alice)
