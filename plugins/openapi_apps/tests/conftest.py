"""Fixtures of this plugin's tests: the app on the test's own loop, the seeded world, bearer tokens.

The host runs the core, this plugin and the ``token_issuer`` test plugin only: tokens come from the
issuer (core/testing/token_issuer.py), never from a login plugin. What this plugin does together with
the device flow is tested in tests/integration/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from core.app import create_app
from core.testing.fixtures import serve
from core.testing.token_issuer import TOKEN_ISSUER, issuer_of
from plugins.openapi_apps.tests.world import World, build_world
from tests.support.probes import host_for
from tests.support.tokens import host_of

ENABLED_PLUGINS = ["openapi_apps", TOKEN_ISSUER]
# What difyctl 0.1.0-rc.1 sends on every request.
UA = "difyctl/0.1.0-rc.1 (linux; x64; rc)"


@pytest.fixture
def enabled_plugins() -> list[str]:
    return list(ENABLED_PLUGINS)


def headers(token: str) -> dict[str, str]:
    """The headers difyctl sends with this token."""
    return {"Authorization": f"Bearer {token}", "User-Agent": UA}


def token_of(sent: dict[str, str]) -> str:
    return sent["Authorization"].split(" ", 1)[1]


async def token_headers(client: Any, person: Any) -> dict[str, str]:
    """The headers difyctl sends, with a fresh ``dfoa_`` token of this person's account."""
    host = host_of(client)
    return headers(await issuer_of(host).account_token(host, person.account.id))


@asynccontextmanager
async def server_with(make_settings: Any, probe_plugins: Any, **overrides: Any) -> AsyncIterator[Any]:
    """A second server on the same database with some settings changed (the same token issuer)."""
    async with host_for(make_settings(**overrides), probe_plugins) as ctx, serve(create_app(ctx=ctx)) as http:
        yield http


@pytest.fixture
async def world(host: Any) -> World:
    return await build_world(host)


@pytest.fixture
async def alice(client: Any, world: World) -> dict[str, str]:
    return await token_headers(client, world.alice)
