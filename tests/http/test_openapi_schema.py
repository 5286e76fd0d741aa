"""The generated OpenAPI document at /schema describes every route the server answers."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from tests.auth.bearer_probe import running, serve

AUTOMATIC_METHODS = {"OPTIONS", "HEAD"}


def _openapi_path(path: str) -> str:
    """Litestar's ``{id:uuid}`` is ``{id}`` in OpenAPI."""
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


async def assert_every_route_documented(app, client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    missing, unsummarised = [], []
    for route in app.routes:
        if route.path.startswith("/schema"):
            continue
        assert isinstance(route, HTTPRoute), f"{route.path} is not an HTTP route"
        documented = paths.get(_openapi_path(route.path), {})
        for method in sorted(set(route.methods) - AUTOMATIC_METHODS):
            operation = documented.get(method.lower())
            if operation is None:
                missing.append(f"{method} {route.path}")
            elif not operation.get("summary"):
                unsummarised.append(f"{method} {route.path}")
    assert missing == [], f"routes absent from /schema: {missing}"
    assert unsummarised == [], f"operations without a summary: {unsummarised}"


async def test_every_route_of_the_default_server_is_documented(app):
    """With the default plugins, every route (except /schema itself) is in the schema with a summary."""
    async with serve(app) as client:
        await assert_every_route_documented(app, client)


async def test_plugin_routes_are_documented(make_settings):
    """A plugin's routes land in the same schema, with their summaries."""
    async with running(make_settings) as run:
        await assert_every_route_documented(run.app, run.client)
        paths = (await run.client.get("/schema/openapi.json")).json()["paths"]
        assert "/openapi/v1/probe/workspaces/{workspace_id}" in paths
