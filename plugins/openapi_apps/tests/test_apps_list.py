"""``GET /openapi/v1/apps``: filters, order, pagination and rows exactly as difyctl renders them."""

from __future__ import annotations

import re

from core.testing import factories
from plugins.openapi_apps.tests.wire_schemas import APP_LIST, assert_error, assert_valid
from plugins.openapi_apps.tests.world import ACME_LISTED, random_uuid

NAIVE_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$")


async def list_apps(client, headers, **params):
    response = await client.get("/openapi/v1/apps", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return assert_valid(APP_LIST, response.json())


def keys(world, body):
    """Rows as world keys (``Twin#chat``) so that same-named apps stay distinguishable."""
    by_id = {str(app.id): key for key, app in world.apps.items()}
    return [by_id[row["id"]] for row in body["data"]]


async def test_default_page_lists_visible_apps_newest_first(client, world, alice):
    """Only normal, API-enabled, non-universal apps of the five modes, by created_at descending."""
    body = await list_apps(client, alice, workspace_id=str(world.acme.id))
    assert keys(world, body) == ACME_LISTED
    assert (body["page"], body["limit"], body["total"], body["has_more"]) == (1, 20, 9, False)


async def test_row_shape(client, world, alice):
    """A row has every §3.8 key; description and tags are never null; timestamps are naive ISO."""
    body = await list_apps(client, alice, workspace_id=str(world.acme.id))
    rows = {row["name"]: row for row in body["data"]}
    assert rows["Greeter"] == {
        "id": world.id("Greeter"), "name": "Greeter", "description": "A simple greeting bot", "mode": "chat",
        "tags": [{"name": "demo"}], "updated_at": "2026-01-02T00:00:00", "created_by_name": "Alice Anders",
        "workspace_id": str(world.acme.id), "workspace_name": "Acme",
    }
    assert rows["Nightly Report"]["tags"] == [{"name": "prod"}, {"name": "wip"}]
    assert rows["Writer"]["description"] == "" and rows["Writer"]["tags"] == []
    assert rows["100%_done"]["created_by_name"] is None  # the creator is unknown
    assert all(NAIVE_ISO.match(row["updated_at"]) for row in body["data"])


async def test_pagination_envelope(client, world, alice):
    """has_more is page*limit < total; a page past the end is empty with the same total."""
    ws = str(world.acme.id)
    first = await list_apps(client, alice, workspace_id=ws, limit=4)
    third = await list_apps(client, alice, workspace_id=ws, limit=4, page=3)
    past = await list_apps(client, alice, workspace_id=ws, limit=4, page=9)
    assert (first["total"], first["has_more"], len(first["data"])) == (9, True, 4)
    assert (third["page"], third["has_more"], keys(world, third)) == (3, False, ["Greeter"])
    assert (past["data"], past["total"], past["has_more"]) == ([], 9, False)
    assert keys(world, first) == ACME_LISTED[:4]


async def test_limit_bounds(client, world, alice):
    """limit 1 and 200 are accepted; 0 and 201 are 422 invalid_param with details."""
    ws = str(world.acme.id)
    assert len((await list_apps(client, alice, workspace_id=ws, limit=1))["data"]) == 1
    assert (await list_apps(client, alice, workspace_id=ws, limit=200))["limit"] == 200
    for bad, kind in (("0", "greater_than_equal"), ("201", "less_than_equal"), ("ten", "int_parsing")):
        params = {"workspace_id": ws, "limit": bad}
        response = await client.get("/openapi/v1/apps", params=params, headers=alice)
        body = assert_error(response, 422, "invalid_param")
        assert body["details"] == [{"loc": ["limit"], "type": kind, "msg": body["details"][0]["msg"]}]


async def test_mode_filter(client, world, alice):
    """mode keeps one of the five user-facing modes; other values are 422."""
    ws = str(world.acme.id)
    expected = {"chat": ["Support Bot", "Twin#chat", "100%_done", "Greeter"], "workflow": ["Twin#workflow",
                "Nightly Report"], "completion": ["Writer"], "agent-chat": ["Agent Smith"],
                "advanced-chat": ["Flow Chat"]}
    for mode, apps in expected.items():
        assert keys(world, await list_apps(client, alice, workspace_id=ws, mode=mode)) == apps
    for bad in ("channel", "rag-pipeline", "CHAT"):
        params = {"workspace_id": ws, "mode": bad}
        response = await client.get("/openapi/v1/apps", params=params, headers=alice)
        assert assert_error(response, 422, "invalid_param")["details"][0]["loc"] == ["mode"]


async def test_name_filter_is_case_insensitive_substring_with_escaped_wildcards(client, world, alice):
    """``bot`` finds Support Bot; ``%`` and ``_`` match themselves, not anything."""
    ws = str(world.acme.id)
    assert keys(world, await list_apps(client, alice, workspace_id=ws, name="BOT")) == ["Support Bot"]
    assert keys(world, await list_apps(client, alice, workspace_id=ws, name="%")) == ["100%_done"]
    assert keys(world, await list_apps(client, alice, workspace_id=ws, name="_")) == ["100%_done"]
    assert keys(world, await list_apps(client, alice, workspace_id=ws, name="0%_d")) == ["100%_done"]
    assert (await list_apps(client, alice, workspace_id=ws, name="nothing like it"))["total"] == 0
    empty = await list_apps(client, alice, workspace_id=ws, name="")
    assert empty["total"] == 9  # empty is the same as absent


async def test_name_filter_uses_the_first_30_characters(client, host, world, alice):
    """Only the first 30 characters of ``name`` take part in the match."""
    long_name = "A very long application name that goes on"
    created = await factories.app(host, world.acme, long_name, "chat")
    body = await list_apps(client, alice, workspace_id=str(world.acme.id), name=long_name[:30] + "zzzz")
    assert [row["id"] for row in body["data"]] == [str(created.id)]


async def test_name_that_is_a_uuid_looks_up_that_app(client, world, alice):
    """UUID shortcut: page 1, limit 1, total 1; an app not listable here gives the empty page."""
    ws = str(world.acme.id)
    found = await list_apps(client, alice, workspace_id=ws, name=world.id("Greeter"), page=3, limit=7,
                            mode="workflow", tag="nope")
    assert (found["page"], found["limit"], found["total"], found["has_more"]) == (1, 1, 1, False)
    assert keys(world, found) == ["Greeter"]
    for other in ("Hidden API", "Old Stuff", "Everywhere", "Channel", "Bob Bot"):
        empty = await list_apps(client, alice, workspace_id=ws, name=world.id(other), page=2, limit=5)
        assert empty == {"page": 2, "limit": 5, "total": 0, "has_more": False, "data": []}
    assert (await list_apps(client, alice, workspace_id=ws, name=random_uuid()))["total"] == 0


async def test_tag_filter(client, world, alice):
    """tag matches the workspace's tag by exact name; another workspace's same-named tag does not count."""
    ws = str(world.acme.id)
    assert keys(world, await list_apps(client, alice, workspace_id=ws, tag="prod")) == [
        "Support Bot", "100%_done", "Nightly Report"]
    assert keys(world, await list_apps(client, alice, workspace_id=ws, tag="prod", mode="chat")) == [
        "Support Bot", "100%_done"]
    assert (await list_apps(client, alice, workspace_id=ws, tag="Prod"))["total"] == 0
    unknown = await list_apps(client, alice, workspace_id=ws, tag="no-such-tag")
    assert unknown == {"page": 1, "limit": 20, "total": 0, "has_more": False, "data": []}


async def test_workspace_id_is_required_and_a_uuid(client, world, alice):
    """A missing or malformed workspace_id is a 422 naming the parameter."""
    missing = assert_error(await client.get("/openapi/v1/apps", headers=alice), 422, "invalid_param")
    assert missing["details"][0] == {"loc": ["workspace_id"], "type": "missing", "msg": "Field required"}
    response = await client.get("/openapi/v1/apps", params={"workspace_id": "acme"}, headers=alice)
    assert assert_error(response, 422, "invalid_param")["details"][0]["type"] == "uuid_parsing"


async def test_query_errors_are_reported_together(client, world, alice):
    """Every bad parameter is listed in details, in one 422."""
    params = {"workspace_id": str(world.acme.id), "page": "0", "limit": "999", "name": "x" * 201,
              "tag": "t" * 101}
    response = await client.get("/openapi/v1/apps", params=params, headers=alice)
    body = assert_error(response, 422, "invalid_param")
    assert [(d["loc"], d["type"]) for d in body["details"]] == [
        (["page"], "greater_than_equal"), (["limit"], "less_than_equal"), (["name"], "string_too_long"),
        (["tag"], "string_too_long")]


async def test_repeated_parameter_is_refused(client, world, alice):
    """``mode=chat&mode=workflow`` has no one meaning: 422 naming the parameter, not a silent pick."""
    url = f"/openapi/v1/apps?workspace_id={world.acme.id}&mode=chat&mode=workflow"
    response = await client.get(url, headers=alice)
    body = assert_error(response, 422, "invalid_param")
    assert [(d["loc"], d["type"]) for d in body["details"]] == [(["query", "mode"], "repeated")]


async def test_shared_workspace_lists_for_every_member(client, world, alice):
    """A workspace two people share lists the same apps for both."""
    body = await list_apps(client, alice, workspace_id=str(world.shared.id))
    assert [row["name"] for row in body["data"]] == ["Shared App"]
    assert body["data"][0]["created_by_name"] == "Bob Brown" and body["data"][0]["workspace_name"] == "Shared"
