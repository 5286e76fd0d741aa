"""Edges found in review: each a way the rules could have been got round."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from plugins.app_assets import service
from plugins.app_assets.jobs import delete_objects
from plugins.app_assets.names import MAX_NAME, name_problem, unique_name
from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.storage import StorageError

from .conftest import World, send


async def ready_file(client: Any, world: World, name: str, data: bytes) -> str:
    made = (
        await client.post(
            f"{world.base}/files/upload", json={"name": name, "size": len(data)}, headers=world.editor
        )
    ).json()
    await send(client, "PUT", made["upload_url"], content=data)
    done = await client.post(
        f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor
    )
    assert done.status_code == 200, done.text
    return str(made["node"]["id"])


async def read(client: Any, world: World, node_id: str) -> str:
    return str((await client.get(f"{world.base}/files/{node_id}", headers=world.reader)).json()["content"])


async def test_a_refused_text_write_changes_nothing(client, world):
    """A stale If-Match is a 412 and the bytes stay as they were (they are written under the lock)."""
    node_id = await ready_file(client, world, "a.txt", b"old")
    stale = (await client.get(f"{world.base}/tree", headers=world.reader)).headers["etag"]
    await client.post(f"{world.base}/folders", json={"name": "moves the revision"}, headers=world.editor)
    refused = await client.put(
        f"{world.base}/files/{node_id}", json={"content": "NEW"}, headers={**world.editor, "If-Match": stale}
    )
    assert refused.status_code == 412
    assert await read(client, world, node_id) == "old"


@pytest.mark.parametrize("storage_kind", ["s3"])
async def test_an_s3_upload_url_replayed_after_complete_does_not_reach_the_file(client, world, host):
    """A presigned PUT stays valid for its lifetime: replayed after complete, it lands on the staging
    key, never on the file people read; the sweeper removes what it left."""
    made = (
        await client.post(
            f"{world.base}/files/upload", json={"name": "a.txt", "size": 3}, headers=world.editor
        )
    ).json()
    await send(client, "PUT", made["upload_url"], content=b"abc")
    await client.post(f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor)
    replay = await send(client, "PUT", made["upload_url"], content=b"x" * 100_000)
    assert replay.status_code == 200  # S3 takes it...
    assert await read(client, world, made["node"]["id"]) == "abc"  # ...where nobody reads it
    from plugins.app_assets.jobs import sweep

    assert (await sweep({"host": host}))["orphan_objects"] == 1
    keys = [key async for key in runtime_of(host).storage.object_keys()]
    assert len(keys) == 1 and not keys[0].endswith(".staged")


async def test_a_declared_sha256_cannot_be_replaced_at_complete(client, world):
    declared = hashlib.sha256(b"one thing").hexdigest()
    made = (
        await client.post(
            f"{world.base}/files/upload",
            json={"name": "a", "size": 3, "sha256": declared},
            headers=world.editor,
        )
    ).json()
    await send(client, "PUT", made["upload_url"], content=b"abc")
    other = hashlib.sha256(b"abc").hexdigest()
    response = await client.post(
        f"{world.base}/files/{made['node']['id']}/complete", json={"sha256": other}, headers=world.editor
    )
    assert response.status_code == 409 and response.json()["code"] == "sha256_mismatch"


def test_de_duplicated_names_stay_valid_whatever_the_extension():
    for name in ("a." + "x" * 253, "x" * 255, "a" * 250 + ".md", ".env"):
        assert name_problem(name) is None
        again = unique_name(name, True, {name})
        assert again != name and len(again) <= MAX_NAME and name_problem(again) is None, again


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_hostile_names_and_if_match_values_are_refused(client, world):
    for name in ("right\u202eto-left.txt", "zero\u200bwidth", "line\u2028break", "tab\tname"):
        response = await client.post(f"{world.base}/folders", json={"name": name}, headers=world.editor)
        assert response.status_code == 400 and response.json()["code"] == "invalid_param", name
    for tag in ('W/"0"', "abc", '"1" "2"'):
        response = await client.post(
            f"{world.base}/folders", json={"name": "x"}, headers={**world.editor, "If-Match": tag}
        )
        assert response.status_code == 400, tag


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_reorder_renumbers_in_chunks(client, world, monkeypatch):
    """Siblings are renumbered a chunk per statement (a driver caps parameters at 32,767)."""
    monkeypatch.setattr(service, "RENUMBER_CHUNK", 2)
    batch = {"children": [{"name": f"n{index}", "node_type": "folder"} for index in range(7)]}
    body = (await client.post(f"{world.base}/batch-upload", json=batch, headers=world.editor)).json()
    last = body["children"][-1]["id"]
    response = await client.post(
        f"{world.base}/nodes/{last}/reorder", json={"after_node_id": None}, headers=world.editor
    )
    assert response.status_code == 200
    names = [
        child["name"]
        for child in (await client.get(f"{world.base}/tree", headers=world.reader)).json()["children"]
    ]
    assert names == ["n6", "n0", "n1", "n2", "n3", "n4", "n5"]


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_a_deleted_files_download_url_stops_at_once(client, world):
    node_id = await ready_file(client, world, "a.txt", b"bytes")
    url = (await client.get(f"{world.base}/files/{node_id}/download-url", headers=world.reader)).json()[
        "download_url"
    ]
    assert (await send(client, "GET", url)).status_code == 200
    await client.delete(f"{world.base}/nodes/{node_id}", headers=world.editor)
    assert (await send(client, "GET", url)).status_code == 404


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_a_console_session_is_not_turned_away_by_another_authorization_scheme(client, host):
    """Behind a proxy with Basic authentication the browser sends ``Authorization: Basic``: the console
    session still decides."""
    from core.testing import factories

    ed = await factories.person(host, "ed2@example.com", "Ed")
    ws = await factories.workspace(host, "Basic", (ed, "editor"))
    app = await factories.app(host, ws, "Skills", "workflow")
    await client.post("/console/api/login", json={"email": ed.email, "password": ed.password})
    response = await client.get(
        f"/console/api/apps/{app.id}/assets/tree", headers={"Authorization": "Basic dTpw"}
    )
    assert response.status_code == 200


async def test_one_key_storage_refuses_does_not_hold_up_the_others(client, world, host):
    """The outbox job deletes what it can and keeps the refused key for the next run."""
    first = await ready_file(client, world, "first.txt", b"1")
    second = await ready_file(client, world, "second.txt", b"2")
    runtime = runtime_of(host)
    real = runtime.storage

    class RefusesFirst:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        async def delete(self, key: str) -> None:
            if key.endswith(first):
                raise StorageError("refused")
            await real.delete(key)

    runtime.storage = RefusesFirst()  # type: ignore[assignment]
    try:  # the route hands the outbox to the job queue too: it meets the same refusal
        for node_id in (first, second):
            await client.delete(f"{world.base}/nodes/{node_id}", headers=world.editor)
        await delete_objects({"host": host})
    finally:
        runtime.storage = real
    keys = [key async for key in real.object_keys()]
    assert len(keys) == 1 and keys[0].endswith(first)
    assert await delete_objects({"host": host}) == 1
    assert [key async for key in real.object_keys()] == []


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_an_upload_finishing_after_a_text_write_does_not_overwrite_it(client, world):
    """An upload still streaming when text is written to the same file: the text wins (the upload's
    bytes become the file's only under the app's lock, and only while the file is still pending)."""
    made = (
        await client.post(f"{world.base}/files/upload", json={"name": "a", "size": 8}, headers=world.editor)
    ).json()
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def slow_body() -> Any:
        yield b"UPLO"
        halfway.set()
        await go_on.wait()
        yield b"ADED"

    upload = asyncio.create_task(send(client, "PUT", made["upload_url"], content=slow_body()))
    await halfway.wait()
    written = await client.put(
        f"{world.base}/files/{made['node']['id']}", json={"content": "text"}, headers=world.editor
    )
    assert written.status_code == 200
    go_on.set()
    late = await upload
    assert late.status_code == 409 and late.json()["code"] == "upload_url_used"
    assert await read(client, world, made["node"]["id"]) == "text"


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_many_copies_of_one_name_in_a_batch_are_numbered_in_order(client, world):
    batch = {"children": [{"name": "a", "node_type": "folder"} for _ in range(300)]}
    body = (await client.post(f"{world.base}/batch-upload", json=batch, headers=world.editor)).json()
    assert [child["name"] for child in body["children"]] == ["a"] + [f"a {n}" for n in range(1, 300)]
