"""Bytes through the local storage's signed URLs: upload, complete, download the same bytes; forged,
expired, replayed and resized URLs refused; deletion and the sweeper remove what is left behind."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from plugins.app_assets.jobs import delete_objects, sweep
from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.storage import UploadGrant

from .conftest import World

DATA = b"hello, world"


def local(url: str) -> str:
    """The path and query of a URL this server handed out (the test client serves that origin)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def new_file(
    client: Any, world: World, name: str = "a.txt", size: int = len(DATA), **extra: Any
) -> Any:
    response = await client.post(
        f"{world.base}/files/upload", json={"name": name, "size": size, **extra}, headers=world.editor
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_upload_complete_download_round_trip(client, world):
    """PUT the bytes to the upload URL, complete (size and SHA-256 recorded, status ready), then the
    download URL gives the same bytes as an attachment that cannot run on this origin."""
    made = await new_file(client, world)
    assert made["node"]["status"] == "pending"
    pending = await client.get(f"{world.base}/files/{made['node']['id']}/download-url", headers=world.reader)
    assert pending.status_code == 409 and pending.json()["code"] == "upload_pending"

    assert (await client.put(local(made["upload_url"]), content=DATA)).status_code == 204
    done = await client.post(
        f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "ready" and done.json()["sha256"] == hashlib.sha256(DATA).hexdigest()

    url = (
        await client.get(f"{world.base}/files/{made['node']['id']}/download-url", headers=world.reader)
    ).json()
    got = await client.get(local(url["download_url"]))
    assert got.status_code == 200 and got.content == DATA
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in got.headers["content-security-policy"]
    text = await client.get(f"{world.base}/files/{made['node']['id']}", headers=world.reader)
    assert text.json() == {"content": DATA.decode()}


async def test_replayed_resized_forged_and_expired_urls_are_refused(client, world, host):
    made = await new_file(client, world)
    url = local(made["upload_url"])
    assert (await client.put(url, content=DATA + b"!")).status_code == 413  # more than signed for
    short = await client.put(url, content=DATA[:-1])
    assert short.status_code == 400 and short.json()["code"] == "size_mismatch"
    assert (await client.put(url, content=DATA)).status_code == 204  # a failed try does not burn it
    replay = await client.put(url, content=DATA)
    assert replay.status_code == 409 and replay.json()["code"] == "upload_url_used"

    token = url.split("token=", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = await client.put(url.replace(token, forged), content=DATA)
    assert response.status_code == 403 and response.json()["code"] == "invalid_link"

    storage = runtime_of(host).storage
    grant = UploadGrant(k="x", n=made["node"]["id"], s=len(DATA), j="nonce")
    stale = storage.upload_signer.sign(msgspec.json.encode(grant), expires_in=10, now=time.time() - 60)
    response = await client.put(f"/files/app-assets/upload?token={stale}", content=DATA)
    assert response.status_code == 403 and response.json()["code"] == "link_expired"


async def test_complete_checks_size_and_sha256_and_keeps_the_file_pending(client, world):
    made = await new_file(client, world, sha256=hashlib.sha256(b"something else").hexdigest())
    missing = await client.post(
        f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor
    )
    assert missing.status_code == 409 and missing.json()["code"] == "upload_missing"
    await client.put(local(made["upload_url"]), content=DATA)
    wrong = await client.post(
        f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor
    )
    assert wrong.status_code == 409 and wrong.json()["code"] == "sha256_mismatch"
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
    await client.put(local(first["upload_url"]), content=b"1")
    both = {"files": [{"id": first["id"]}, {"id": second["id"]}]}
    response = await client.post(f"{world.base}/files/complete", json=both, headers=world.editor)
    assert response.status_code == 409
    statuses = [
        c["status"] for c in (await client.get(f"{world.base}/tree", headers=world.reader)).json()["children"]
    ]
    assert statuses == ["pending", "pending"]
    await client.put(local(second["upload_url"]), content=b"2")
    response = await client.post(f"{world.base}/files/complete", json=both, headers=world.editor)
    assert response.status_code == 200 and [f["status"] for f in response.json()["files"]] == [
        "ready",
        "ready",
    ]


async def test_deleted_files_bytes_go_and_the_sweeper_clears_what_was_left(client, world, host):
    """Deleting a folder queues its files' bytes; the job deletes them (twice is harmless). The sweeper
    removes a file still pending past the deadline, and an object whose node is gone."""
    runtime = runtime_of(host)
    made = await new_file(client, world, "kept.txt")
    await client.put(local(made["upload_url"]), content=DATA)
    await client.post(f"{world.base}/files/{made['node']['id']}/complete", json={}, headers=world.editor)
    files = [p for p in Path(runtime.storage.root).rglob("*") if p.is_file()]  # type: ignore[attr-defined]
    assert len(files) == 1 and files[0].read_bytes() == DATA

    response = await client.delete(f"{world.base}/nodes/{made['node']['id']}", headers=world.editor)
    assert response.status_code == 200
    assert await delete_objects({"host": host}) in (0, 1)  # the route already asked the queue for it
    assert not files[0].exists()
    assert await delete_objects({"host": host}) == 0

    await new_file(client, world, "abandoned.txt")  # never uploaded
    # Bytes whose node is gone (an upload that landed after its node was deleted, say).
    gone = "0190a5b0-0000-7000-8000-000000000000"
    orphan = Path(runtime.storage.root) / "app_assets" / "t" / world.app_id / "draft" / gone  # type: ignore[attr-defined]
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left behind")
    assert (await sweep({"host": host})) == {"stale_pending": 0, "orphan_objects": 1}
    assert not orphan.exists()
    runtime.settings.pending_hours = 0  # everything pending is now past the deadline
    try:
        assert (await sweep({"host": host}))["stale_pending"] == 1
    finally:
        runtime.settings.pending_hours = 24
    assert (await client.get(f"{world.base}/tree", headers=world.reader)).json()["children"] == []
