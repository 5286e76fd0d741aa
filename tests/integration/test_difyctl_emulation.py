"""Signs in as difyctl 0.1.0-rc.1 does (the device flow), then replays exactly what it sends for get
workspace / get app / describe app, and checks every answer against what the CLI's schemas accept
(openapi_apps spec §7)."""

from __future__ import annotations

import asyncio
from urllib.parse import quote, urlencode

from plugins.openapi_apps.tests.wire_schemas import APP_LIST, DESCRIBE, WORKSPACES, assert_valid


def apps_url(workspace_id: str, page: int = 1, limit: int = 20, **filters: str) -> str:
    """``AppsClient.list``: URLSearchParams in this order, empty filters left out."""
    params = {"workspace_id": workspace_id, "page": str(page), "limit": str(limit)}
    params |= {key: value for key, value in filters.items() if value}
    return "/openapi/v1/apps?" + urlencode(params)


def describe_url(app_id: str, workspace_id: str, fields: list[str]) -> str:
    """``AppsClient.describe``: encodeURIComponent(id), then workspace_id and the joined fields."""
    query = urlencode({"workspace_id": workspace_id, "fields": ",".join(fields)})
    return f"/openapi/v1/apps/{quote(app_id, safe='')}/describe?{query}"


async def cli_get(client, headers, url):
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.text)
    return response.json()


async def test_get_workspace(client, world, alice):
    """`difyctl get workspace`: GET /workspaces."""
    body = assert_valid(WORKSPACES, await cli_get(client, alice, "/openapi/v1/workspaces"))
    assert [row["name"] for row in body["workspaces"]] == ["Acme", "Shared"]


async def test_get_app_with_filters(client, world, alice):
    """`difyctl get app [--mode] [--name] [--tag] [--limit]` against the current workspace."""
    ws = str(world.acme.id)
    cases = [
        ({}, 9),
        ({"mode": "chat"}, 4),
        ({"name": "Support Bot"}, 1),  # URLSearchParams sends the space as '+'
        ({"tag": "prod"}, 3),
        ({"mode": "workflow", "tag": "wip"}, 1),
        ({"name": "100%_done"}, 1),
    ]
    for filters, total in cases:
        body = assert_valid(APP_LIST, await cli_get(client, alice, apps_url(ws, **filters)))
        assert body["total"] == total, filters
    limited = assert_valid(APP_LIST, await cli_get(client, alice, apps_url(ws, limit=2)))
    assert (len(limited["data"]), limited["has_more"]) == (2, True)


async def test_get_app_all_workspaces(client, world, alice):
    """`difyctl get app -A`: GET /workspaces, then one list per workspace (up to 4 at once), merged."""
    listed = assert_valid(WORKSPACES, await cli_get(client, alice, "/openapi/v1/workspaces"))
    workspaces = listed["workspaces"]
    pages = await asyncio.gather(*(cli_get(client, alice, apps_url(w["id"])) for w in workspaces))
    total, rows = 0, []
    for page in pages:
        assert_valid(APP_LIST, page)
        total += page["total"]
        rows += page["data"]
    rows.sort(key=lambda row: row["id"])
    assert total == 10 and len(rows) == 10
    assert {row["workspace_name"] for row in rows} == {"Acme", "Shared"}
    assert "Bob Bot" not in {row["name"] for row in rows}


async def test_get_app_by_id(client, world, alice):
    """`difyctl get app <id>`: describe with fields=info, turned into one list row by the CLI."""
    body = assert_valid(DESCRIBE, await cli_get(client, alice, describe_url(world.id("Greeter"),
                                                                            str(world.acme.id), ["info"])))
    assert body["info"]["id"] == world.id("Greeter")
    assert body["parameters"] is None and body["input_schema"] is None


async def test_describe_app(client, world, alice):
    """`difyctl describe app <id>` (always the explicit three fields), for apps of every mode."""
    fields = ["info", "parameters", "input_schema"]
    for key in ("Greeter", "Nightly Report", "Writer", "Agent Smith", "Flow Chat", "100%_done"):
        body = assert_valid(DESCRIBE, await cli_get(client, alice, describe_url(world.id(key),
                                                                                str(world.acme.id), fields)))
        assert all(body[block] is not None for block in fields)


async def test_describe_app_by_name(client, world, alice):
    """`difyctl describe app "<name>"`: the name travels encoded in the path."""
    url = describe_url("Nightly Report", str(world.acme.id), ["info", "parameters", "input_schema"])
    body = assert_valid(DESCRIBE, await cli_get(client, alice, url))
    assert body["info"]["id"] == world.id("Nightly Report")
