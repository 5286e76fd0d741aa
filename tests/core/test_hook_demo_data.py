"""demo_data: after the core seeds its demo rows, each plugin adds its own."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from core.domain import services
from core.domain.demo import seed_demo
from core.domain.models import App
from core.hookspecs import hookimpl
from core.testing.fixtures import truncate
from tests.support.probes import probe_host


class DemoProbe:
    def __init__(self) -> None:
        self.seeds: list[dict[str, Any]] = []

    @hookimpl
    def demo_data(self, ctx: Any, seed: dict[str, Any]) -> Any:
        async def add_rows() -> None:
            self.seeds.append(seed)
            workspace_id = uuid.UUID(seed["workspaces"][0]["id"])
            async with ctx.session() as session:
                await services.create_app(session, workspace_id, "Probe Demo App", "chat")

        return add_rows()


async def test_hook_demo_data(make_settings, backend):
    """The plugin receives what the core seeded and its own demo rows land beside the core's."""
    probe = DemoProbe()
    async with probe_host(make_settings, {"demo_probe": probe}) as ctx:
        try:
            seed = await seed_demo(ctx, "pw-for-tests")
            [received] = probe.seeds
            assert received["account"]["email"] == seed.account["email"]
            assert {w["name"] for w in received["workspaces"]} == {w["name"] for w in seed.workspaces}
            async with ctx.session() as session:
                rows = (await session.execute(select(App.name, App.tenant_id))).all()
            names = {name for name, _ in rows}
            assert "Probe Demo App" in names
            assert {app["name"] for app in seed.apps} <= names
            [(_, tenant_id)] = [row for row in rows if row[0] == "Probe Demo App"]
            assert str(tenant_id) == seed.workspaces[0]["id"]
        finally:
            await truncate(ctx)

