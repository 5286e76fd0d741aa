"""Fixtures of the app_assets tests: the core, this plugin and the test token issuer only; an app
with an editor and a reader, and helpers that call the routes as them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from core.testing import factories
from core.testing.token_issuer import TOKEN_ISSUER, bearer_for


@pytest.fixture
def enabled_plugins() -> list[str]:
    return ["app_assets", TOKEN_ISSUER]


@dataclass
class World:
    app_id: str
    base: str
    editor: dict[str, str]
    reader: dict[str, str]
    outsider: dict[str, str]


@pytest.fixture
async def world(host: Any) -> World:
    ed = await factories.person(host, "ed@example.com", "Ed")
    rita = await factories.person(host, "rita@example.com", "Rita")
    olga = await factories.person(host, "olga@example.com", "Olga")
    ws = await factories.workspace(host, "Acme", (ed, "editor"), (rita, "normal"))
    await factories.workspace(host, "Elsewhere", (olga, "owner"))
    app = await factories.app(host, ws, "Skills", "workflow")
    return World(
        app_id=str(app.id),
        base=f"/console/api/apps/{app.id}/assets",
        editor=await bearer_for(host, ed.account.id),
        reader=await bearer_for(host, rita.account.id),
        outsider=await bearer_for(host, olga.account.id),
    )
