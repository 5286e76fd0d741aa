"""``GET /openapi/v1/workspaces`` and ``/workspaces/{id}`` as difyctl and a person see them."""

from __future__ import annotations

import re

from sqlalchemy import delete

from core.domain.models import Membership
from core.testing import factories
from plugins.openapi_apps.tests.conftest import token_headers
from plugins.openapi_apps.tests.wire_schemas import WORKSPACES, assert_error, assert_valid

NAIVE_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$")


async def test_list_is_the_callers_workspaces_oldest_first(client, world, alice):
    """Rows carry role, status and the current flag, in workspace creation order; others' are absent."""
    response = await client.get("/openapi/v1/workspaces", headers=alice)
    assert response.status_code == 200
    body = assert_valid(WORKSPACES, response.json())
    assert body == {
        "workspaces": [
            {"id": str(world.acme.id), "name": "Acme", "role": "owner", "status": "normal", "current": True},
            {"id": str(world.shared.id), "name": "Shared", "role": "editor", "status": "normal",
             "current": False},
        ]
    }


async def test_list_is_empty_for_an_account_without_workspaces(client, host, world):
    """An account in no workspace (any more) gets ``{"workspaces": []}`` (the CLI prints its hint)."""
    carol = await factories.person(host, "carol@example.com", "Carol")
    temp = await factories.workspace(host, "Temp", (carol, "owner"))  # a member once, then no more
    sent = await token_headers(client, carol)
    async with host.session() as session:
        await session.execute(delete(Membership).where(Membership.tenant_id == temp.id))
    response = await client.get("/openapi/v1/workspaces", headers=sent)
    assert response.status_code == 200
    assert assert_valid(WORKSPACES, response.json()) == {"workspaces": []}


async def test_detail_of_a_member_workspace(client, world, alice):
    """The detail adds a naive ISO ``created_at`` to the row."""
    response = await client.get(f"/openapi/v1/workspaces/{world.shared.id}", headers=alice)
    assert response.status_code == 200
    body = response.json()
    assert NAIVE_ISO.match(body.pop("created_at"))
    assert body == {"id": str(world.shared.id), "name": "Shared", "role": "editor", "status": "normal",
                    "current": False}


async def test_detail_is_404_for_non_members_unknown_and_malformed_ids(client, world, alice):
    """Bob's workspace, an unknown UUID and a non-UUID all answer the same 404."""
    for ref in (world.bobs.id, "01234567-89ab-7def-8123-456789abcdef", "not-a-uuid"):
        response = await client.get(f"/openapi/v1/workspaces/{ref}", headers=alice)
        assert_error(response, 404, "not_found", "workspace not found")


async def test_an_archived_workspace_disappears_for_its_members_and_comes_back(client, host, world, alice):
    """Archiving keeps everything but hides it at once (the cached token snapshot is dropped): not
    listed, its detail and its apps 404 as if absent. Unarchived, all is back as it was."""
    from core.domain import services

    async def set_status(status: str) -> None:
        async with host.session() as session:
            shared = await services.workspace_by_ref(session, str(world.shared.id))
            await services.set_workspace_status(session, shared, status)

    shared_app = f"/openapi/v1/apps/{world.id('Shared App')}/describe"
    assert (await client.get(shared_app, headers=alice)).status_code == 200  # cached snapshot: Shared in it
    await set_status("archive")
    listed = assert_valid(WORKSPACES, (await client.get("/openapi/v1/workspaces", headers=alice)).json())
    assert [w["name"] for w in listed["workspaces"]] == ["Acme"]
    detail = await client.get(f"/openapi/v1/workspaces/{world.shared.id}", headers=alice)
    assert_error(detail, 404, "not_found", "workspace not found")
    assert (await client.get(shared_app, headers=alice)).status_code == 404
    apps = await client.get("/openapi/v1/apps", params={"workspace_id": str(world.shared.id)}, headers=alice)
    assert_error(apps, 404, "not_found", "workspace not found")

    await set_status("normal")
    listed = assert_valid(WORKSPACES, (await client.get("/openapi/v1/workspaces", headers=alice)).json())
    assert [w["name"] for w in listed["workspaces"]] == ["Acme", "Shared"]
    assert (await client.get(shared_app, headers=alice)).status_code == 200
