"""The tree, folders, files and batch upload as a client sees them, on both database backends."""

from __future__ import annotations

from typing import Any

from core.testing import factories

from .conftest import World

DOCS = {
    "children": [
        {
            "name": "docs",
            "node_type": "folder",
            "client_key": "d",
            "children": [
                {"name": "guide.md", "node_type": "file", "size": 5, "client_key": "g"},
                {
                    "name": "deep",
                    "node_type": "folder",
                    "children": [
                        {"name": "a.txt", "node_type": "file", "size": 0},
                    ],
                },
            ],
        },
        {"name": "root.txt", "node_type": "file", "size": 3},
    ]
}


async def tree(client: Any, world: World) -> dict[str, Any]:
    response = await client.get(f"{world.base}/tree", headers=world.reader)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["revision"]}"'
    return response.json()


def paths(children: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for child in children:
        found.append(child["path"] + ("/" if child["node_type"] == "folder" else ""))
        found.extend(paths(child["children"]))
    return found


async def test_an_empty_tree_then_a_batch_mirrors_the_request(client, world):
    """A new app's tree is empty at revision 0. A batch creates the whole nested tree at once and
    answers in the request's order and nesting, with ids, upload URLs on files and client keys."""
    assert await tree(client, world) == {"revision": 0, "children": []}
    response = await client.post(f"{world.base}/batch-upload", json=DOCS, headers=world.editor)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["revision"] == 1
    docs, root = body["children"]
    assert (docs["name"], docs["client_key"], docs["upload_url"]) == ("docs", "d", None)
    guide, deep = docs["children"]
    assert guide["client_key"] == "g" and guide["upload_url"].startswith("http")
    assert deep["children"][0]["name"] == "a.txt" and root["name"] == "root.txt"

    listed = await tree(client, world)
    assert listed["revision"] == 1
    assert paths(listed["children"]) == [
        "/docs/",
        "/docs/guide.md",
        "/docs/deep/",
        "/docs/deep/a.txt",
        "/root.txt",
    ]
    files = [child for child in listed["children"] if child["node_type"] == "file"]
    assert files[0]["status"] == "pending"  # no bytes yet


async def test_a_second_batch_is_renamed_against_existing_and_within_itself(client, world):
    """docs exists: the new one is 'docs 1'; two a.md in one folder of the batch: 'a.md', 'a 1.md'."""
    await client.post(f"{world.base}/batch-upload", json=DOCS, headers=world.editor)
    again = {
        "children": [
            {
                "name": "docs",
                "node_type": "folder",
                "children": [
                    {"name": "a.md", "node_type": "file", "size": 1},
                    {"name": "a.md", "node_type": "file", "size": 1},
                ],
            }
        ]
    }
    body = (await client.post(f"{world.base}/batch-upload", json=again, headers=world.editor)).json()
    folder = body["children"][0]
    assert folder["name"] == "docs 1"
    assert [child["name"] for child in folder["children"]] == ["a.md", "a 1.md"]


async def test_on_conflict_fail_writes_nothing(client, world):
    """With on_conflict: fail, a name taken deep in the target is a 409 and nothing is written."""
    await client.post(f"{world.base}/batch-upload", json=DOCS, headers=world.editor)
    before = await tree(client, world)
    clash = {
        "on_conflict": "fail",
        "children": [
            {"name": "new", "node_type": "folder"},
            {"name": "docs", "node_type": "folder"},
        ],
    }
    response = await client.post(f"{world.base}/batch-upload", json=clash, headers=world.editor)
    assert response.status_code == 409 and response.json()["code"] == "app_asset_path_conflict"
    assert await tree(client, world) == before


async def test_a_bad_name_at_depth_five_writes_nothing(client, world):
    """Every name is checked before anything is written: one bad name five levels down refuses all."""
    node: dict[str, Any] = {"name": "bad/name", "node_type": "file", "size": 1}
    for level in range(4):
        node = {"name": f"level{level}", "node_type": "folder", "children": [node]}
    for bad in ("bad/name", "..", "nul\x00", "tab\tname", "x" * 256, ""):
        node_copy = _replace_leaf(node, bad)
        response = await client.post(
            f"{world.base}/batch-upload", json={"children": [node_copy]}, headers=world.editor
        )
        assert response.status_code == 400, (bad, response.text)
    assert await tree(client, world) == {"revision": 0, "children": []}


def _replace_leaf(node: dict[str, Any], name: str) -> dict[str, Any]:
    if not node.get("children"):
        return {**node, "name": name}
    return {**node, "children": [_replace_leaf(node["children"][0], name)]}


async def test_batch_under_a_parent_and_limits(client, world, host):
    """parent_id puts the whole tree under an existing folder; a file as parent, an unknown parent, a
    file with children, too deep and too big are refused with their codes."""
    made = (await client.post(f"{world.base}/folders", json={"name": "skills"}, headers=world.editor)).json()
    body = (
        await client.post(
            f"{world.base}/batch-upload", json={**DOCS, "parent_id": made["id"]}, headers=world.editor
        )
    ).json()
    assert body["children"][0]["name"] == "docs"
    listed = paths((await tree(client, world))["children"])
    assert "/skills/docs/deep/a.txt" in listed

    upload = await client.post(
        f"{world.base}/files/upload", json={"name": "f.txt", "size": 1}, headers=world.editor
    )
    file_id = upload.json()["node"]["id"]
    for parent in (file_id, "01234567-89ab-7def-8123-456789abcdef", "nope"):
        response = await client.post(
            f"{world.base}/batch-upload", json={**DOCS, "parent_id": parent}, headers=world.editor
        )
        assert response.status_code == 404 and response.json()["code"] == "app_asset_node_not_found"
    child_of_file = {
        "children": [{"name": "f", "node_type": "file", "children": [{"name": "x", "node_type": "file"}]}]
    }
    response = await client.post(f"{world.base}/batch-upload", json=child_of_file, headers=world.editor)
    assert response.status_code == 400
    deep: dict[str, Any] = {"name": "leaf", "node_type": "folder"}
    for level in range(20):
        deep = {"name": f"l{level}", "node_type": "folder", "children": [deep]}
    response = await client.post(
        f"{world.base}/batch-upload", json={"children": [deep]}, headers=world.editor
    )
    assert response.status_code == 400 and response.json()["code"] == "depth_exceeded"
    huge = {"children": [{"name": "big.bin", "node_type": "file", "size": 10**12}]}
    response = await client.post(f"{world.base}/batch-upload", json=huge, headers=world.editor)
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"


async def test_who_may_read_and_write(client, world):
    """A reader (role normal) reads but cannot write (403); another workspace's member and a bad app
    id get 404; no credentials 401."""
    assert (await client.get(f"{world.base}/tree", headers=world.reader)).status_code == 200
    response = await client.post(f"{world.base}/folders", json={"name": "x"}, headers=world.reader)
    assert response.status_code == 403
    for who, base in ((world.outsider, world.base), (world.editor, "/console/api/apps/not-an-id/assets")):
        response = await client.get(f"{base}/tree", headers=who)
        assert response.status_code == 404 and response.json()["code"] == "app_not_found"
    assert (await client.get(f"{world.base}/tree")).status_code == 401


async def test_only_workflow_apps_have_files(client, world, host):
    """A chat app has no file tree: 404 app_not_found saying which modes do (upstream's rule)."""
    chat = await factories.app(host, world.workspace, "Chatty", "chat")
    response = await client.get(f"/console/api/apps/{chat.id}/assets/tree", headers=world.editor)
    assert response.status_code == 404 and "workflow" in response.json()["message"]


async def test_rename_move_reorder_delete_and_if_match(client, world):
    """Rename (409 on a sibling's name), move (cycle 409, into a file 404), reorder, delete
    (recursive), each answering the new revision; a stale If-Match is 412 and changes nothing."""
    body = (await client.post(f"{world.base}/batch-upload", json=DOCS, headers=world.editor)).json()
    docs, root = body["children"]
    deep = docs["children"][1]
    ed = world.editor

    response = await client.post(f"{world.base}/nodes/{root['id']}/rename", json={"name": "docs"}, headers=ed)
    assert response.status_code == 409
    response = await client.post(
        f"{world.base}/nodes/{root['id']}/rename", json={"name": "top.md"}, headers=ed
    )
    assert response.status_code == 200 and response.json()["extension"] == "md"
    revision = int(response.headers["etag"].strip('"'))

    response = await client.post(
        f"{world.base}/nodes/{docs['id']}/move", json={"parent_id": deep["id"]}, headers=ed
    )
    assert response.status_code == 409 and response.json()["code"] == "move_cycle"
    response = await client.post(
        f"{world.base}/nodes/{docs['id']}/move", json={"parent_id": root["id"]}, headers=ed
    )
    assert response.status_code == 404
    response = await client.post(
        f"{world.base}/nodes/{deep['id']}/move", json={"parent_id": None}, headers=ed
    )
    assert response.status_code == 200 and response.json()["parent_id"] is None

    stale = {**ed, "If-Match": f'"{revision}"'}
    response = await client.post(
        f"{world.base}/nodes/{root['id']}/rename", json={"name": "late"}, headers=stale
    )
    assert response.status_code == 412 and response.json()["code"] == "revision_mismatch"

    response = await client.post(
        f"{world.base}/nodes/{root['id']}/reorder", json={"after_node_id": None}, headers=ed
    )
    assert response.status_code == 200 and response.json()["order"] == 0
    assert next(child["name"] for child in (await tree(client, world))["children"]) == "top.md"

    current = (await tree(client, world))["revision"]
    response = await client.delete(
        f"{world.base}/nodes/{docs['id']}", headers={**ed, "If-Match": f'"{current}"'}
    )
    assert response.status_code == 200 and response.json() == {"result": "success"}
    assert paths((await tree(client, world))["children"]) == ["/top.md", "/deep/", "/deep/a.txt"]


async def test_an_unchanged_tree_is_not_sent_again(client, world):
    """If-None-Match with the tree's ETag: 304 and no body while nothing changed, the tree once it has."""
    first = await client.get(f"{world.base}/tree", headers=world.reader)
    etag = first.headers["etag"]
    again = await client.get(f"{world.base}/tree", headers={**world.reader, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    await client.post(f"{world.base}/folders", json={"name": "new"}, headers=world.editor)
    changed = await client.get(f"{world.base}/tree", headers={**world.reader, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["children"][0]["name"] == "new"
