"""route_handlers: a plugin's routes are mounted next to the core's and answer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from core.hookspecs import hookimpl
from tests.support.probes import probe_client, probe_host


@get("/probe/ping")
async def ping(request: Request) -> dict[str, Any]:
    return {"pong": True, "mode": request.app.state.host.settings.mode}


class ProbeController(Controller):
    path = "/probe/things"

    @get("/{name:str}")
    async def thing(self, name: str) -> dict[str, str]:
        return {"name": name}


class RoutesProbe:
    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [ping, ProbeController]


async def test_hook_route_handlers(make_settings, backend):
    """Handlers and controllers a plugin returns are mounted and answer beside the core's routes."""
    async with probe_host(make_settings, {"routes_probe": RoutesProbe()}) as ctx, probe_client(ctx) as client:
        ping_response = await client.get("/probe/ping")
        assert ping_response.status_code == 200
        assert ping_response.json() == {"pong": True, "mode": ctx.settings.mode}
        assert (await client.get("/probe/things/lamp")).json() == {"name": "lamp"}
        assert (await client.get("/healthz")).status_code == 200
        # The plugin's routes appear in the OpenAPI document like the core's.
        schema = (await client.get("/schema/openapi.json")).json()
        assert "/probe/ping" in schema["paths"]


async def test_routes_of_a_disabled_plugin_are_not_mounted(make_settings, backend):
    """A plugin that is not enabled contributes no routes: its paths answer 404."""
    disabled = {"plugins.enabled": []}
    async with probe_host(make_settings, {"routes_probe": RoutesProbe()}, **disabled) as ctx, \
            probe_client(ctx) as client:
        assert (await client.get("/probe/ping")).status_code == 404
