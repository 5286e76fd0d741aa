"""Bytes through signed URLs, on both storage kinds: upload, complete, download the same bytes;
forged, expired, replayed and resized URLs refused; deletion and the sweeper remove what is left."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import msgspec
import pytest

from plugins.app_assets.jobs import delete_objects, sweep
from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.storage import UploadGrant

from .conftest import World, send

DATA = b"hello, world"


async def new_file(
    client: Any, world: World, name: str = "a.txt", size: int = len(DATA), **extra: Any
) -> Any:
    response = await client.post(
        f"{world.base}/files/upload", json={"name": name, "size": size, **extra}, headers=world.editor
    )
    assert response.status_code == 201, response.text
    return response.json()


async def complete(client: Any, world: World, node_id: str, **body: Any) -> Any:
    return await client.post(f"{world.base}/files/{node_id}/complete", json=body, headers=world.editor)


async def test_upload_complete_download_round_trip(client, world, storage_kind):
    """PUT the bytes to the upload URL, complete (size recorded, status ready), then the download URL
    gives the same bytes as an attachment named like the node."""
    made = await new_file(client, world, "report 2026.txt")
    node_id = made["node"]["id"]
    assert made["node"]["status"] == "pending"
    pending = await client.get(f"{world.base}/files/{node_id}/download-url", headers=world.reader)
    assert pending.status_code == 409 and pending.json()["code"] == "upload_pending"

    assert (await send(client, "PUT", made["upload_url"], content=DATA)).status_code in (200, 204)
    done = await complete(client, world, node_id)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "ready" and done.json()["size"] == len(DATA)

    url = (await client.get(f"{world.base}/files/{node_id}/download-url", headers=world.reader)).json()
    got = await send(client, "GET", url["download_url"])
    assert got.status_code == 200 and got.content == DATA
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment") and "report" in disposition
    text = await client.get(f"{world.base}/files/{node_id}", headers=world.reader)
    assert text.json() == {"content": DATA.decode()}


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_local_downloads_cannot_run_on_this_origin(client, world):
    made = await new_file(client, world, "page.html")
    await send(client, "PUT", made["upload_url"], content=DATA)
    await complete(client, world, made["node"]["id"])
    url = (
        await client.get(f"{world.base}/files/{made['node']['id']}/download-url", headers=world.reader)
    ).json()
    got = await send(client, "GET", url["download_url"])
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    assert got.headers["content-type"].startswith("application/octet-stream")


@pytest.mark.parametrize("storage_kind", ["local"])
async def test_replayed_resized_forged_and_expired_local_urls_are_refused(client, world, host):
    made = await new_file(client, world)
    url = made["upload_url"]
    assert (await send(client, "PUT", url, content=DATA + b"!")).status_code == 413  # more than signed for
    short = await send(client, "PUT", url, content=DATA[:-1])
    assert short.status_code == 400 and short.json()["code"] == "size_mismatch"
    assert (await send(client, "PUT", url, content=DATA)).status_code == 204  # a failed try does not burn it
    replay = await send(client, "PUT", url, content=DATA)
    assert replay.status_code == 409 and replay.json()["code"] == "upload_url_used"

    token = url.split("token=", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = await send(client, "PUT", url.replace(token, forged), content=DATA)
    assert response.status_code == 403 and response.json()["code"] == "invalid_link"

    storage = runtime_of(host).storage
    grant = UploadGrant(k="x", n=made["node"]["id"], s=len(DATA), j="nonce")
    stale = storage.upload_signer.sign(msgspec.json.encode(grant), expires_in=10, now=time.time() - 60)  # type: ignore[attr-defined]
    response = await client.put(f"/files/app-assets/upload?token={stale}", content=DATA)
    assert response.status_code == 403 and response.json()["code"] == "link_expired"


async def test_complete_checks_size_and_sha256_and_keeps_the_file_pending(client, world):
    made = await new_file(client, world, sha256=hashlib.sha256(b"something else").hexdigest())
    node_id = made["node"]["id"]
    missing = await complete(client, world, node_id)
    assert missing.status_code == 409 and missing.json()["code"] == "upload_missing"
    await send(client, "PUT", made["upload_url"], content=DATA)
    wrong = await complete(client, world, node_id)
    assert wrong.status_code == 409 and wrong.json()["code"] == "sha256_mismatch"
    tree = (await client.get(f"{world.base}/tree", headers=world.reader)).json()
    assert tree["children"][0]["status"] == "pending"
    # A checksum given only at complete is checked as well.
    fresh = await new_file(client, world, "b.txt")
    await send(client, "PUT", fresh["upload_url"], content=DATA)
    right = await complete(client, world, fresh["node"]["id"], sha256=hashlib.sha256(DATA).hexdigest())
    assert right.status_code == 200 and right.json()["sha256"] == hashlib.sha256(DATA).hexdigest()


@pytest.mark.parametrize("storage_kind", ["s3"])
async def test_s3_upload_of_another_size_stays_pending(client, world):
    """A presigned PUT cannot cap the size: complete catches it, and the file stays pending."""
    made = await new_file(client, world)
    await send(client, "PUT", made["upload_url"], content=DATA + b"more")
    wrong = await complete(client, world, made["node"]["id"])
    assert wrong.status_code == 409 and wrong.json()["code"] == "size_mismatch"
    tree = (await client.get(f"{world.base}/tree", headers=world.reader)).json()
    assert tree["children"][0]["status"] == "pending"


async def test_batch_complete_is_all_or_nothing(client, world):
    batch = {
        "children": [
            {"name": "a", "node_type": "file", "size": 1},
            {"name": "b", "node_type": "file", "size": 1},
        ]
    }
    body = (await client.post(f"{world.base}/batch-upload", json=batch, headers=world.editor)).json()
    first, second = body["children"]
    await send(client, "PUT", first["upload_url"], content=b"1")
    both = {"files": [{"id": first["id"]}, {"id": second["id"]}]}
    response = await client.post(f"{world.base}/files/complete", json=both, headers=world.editor)
    assert response.status_code == 409
    statuses = [
        c["status"] for c in (await client.get(f"{world.base}/tree", headers=world.reader)).json()["children"]
    ]
    assert statuses == ["pending", "pending"]
    await send(client, "PUT", second["upload_url"], content=b"2")
    response = await client.post(f"{world.base}/files/complete", json=both, headers=world.editor)
    assert response.status_code == 200 and [f["status"] for f in response.json()["files"]] == [
        "ready",
        "ready",
    ]


async def test_text_written_through_the_api_is_read_back(client, world):
    made = await new_file(client, world, "notes.md", size=0)
    written = await client.put(
        f"{world.base}/files/{made['node']['id']}", json={"content": "# Notes\nünïcode"}, headers=world.editor
    )
    assert written.status_code == 200 and written.json()["status"] == "ready"
    assert written.json()["size"] == len("# Notes\nünïcode".encode())
    read = await client.get(f"{world.base}/files/{made['node']['id']}", headers=world.reader)
    assert read.json() == {"content": "# Notes\nünïcode"}


async def test_deleted_files_bytes_go_and_the_sweeper_clears_what_was_left(client, world, host):
    """Deleting a node queues its files' bytes; the job deletes them (twice is harmless). The sweeper
    removes a file still pending past the deadline, and an object whose node is gone."""
    runtime = runtime_of(host)
    storage = runtime.storage
    made = await new_file(client, world, "kept.txt")
    await send(client, "PUT", made["upload_url"], content=DATA)
    await complete(client, world, made["node"]["id"])
    keys = [key async for key in storage.object_keys()]
    assert len(keys) == 1 and keys[0].endswith(made["node"]["id"])

    response = await client.delete(f"{world.base}/nodes/{made['node']['id']}", headers=world.editor)
    assert response.status_code == 200
    assert await delete_objects({"host": host}) in (0, 1)  # the route already asked the queue for it
    assert await storage.stat(keys[0], with_sha256=False) is None
    assert await delete_objects({"host": host}) == 0

    await new_file(client, world, "abandoned.txt")  # never uploaded
    # Bytes whose node is gone (an upload that landed after its node was deleted, say).
    orphan = f"app_assets/{uuid.uuid4()}/{world.app_id}/draft/{uuid.uuid4()}"
    await storage.write(orphan, b"left behind")
    assert (await sweep({"host": host})) == {"stale_pending": 0, "orphan_objects": 1}
    assert await storage.stat(orphan, with_sha256=False) is None
    runtime.settings.pending_hours = 0  # everything pending is now past the deadline
    try:
        assert (await sweep({"host": host}))["stale_pending"] == 1
    finally:
        runtime.settings.pending_hours = 24
    assert (await client.get(f"{world.base}/tree", headers=world.reader)).json()["children"] == []
