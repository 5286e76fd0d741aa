"""Failure injection in batch upload: whatever fails, at any step, nothing is written (the tree and its
revision are as before) and the client gets a clear error, never a partial tree."""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest
import sqlalchemy.exc
from sqlalchemy import event

from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.s3 import S3Storage
from plugins.app_assets.storage import StorageError

from .conftest import World, free_port

BATCH = {
    "children": [
        {
            "name": "docs",
            "node_type": "folder",
            "children": [{"name": f"f{index}.md", "node_type": "file", "size": 1} for index in range(5)],
        },
    ]
}


async def snapshot(client: Any, world: World) -> dict[str, Any]:
    return (await client.get(f"{world.base}/tree", headers=world.reader)).json()


class SigningFails:
    """The configured backend (local or S3), with signing that fails on the third URL (an S3 client
    error, an expired credential...)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def upload_url(self, key: str, **kw: Any) -> str:
        self.calls += 1
        if self.calls == 3:
            raise StorageError("could not sign")
        return str(self.inner.upload_url(key, **kw))


async def test_a_signing_failure_on_the_third_file_writes_nothing(client, world, host):
    runtime = runtime_of(host)
    real = runtime.storage
    await client.post(f"{world.base}/folders", json={"name": "before"}, headers=world.editor)
    before = await snapshot(client, world)
    runtime.storage = SigningFails(real)  # type: ignore[assignment]
    try:
        response = await client.post(f"{world.base}/batch-upload", json=BATCH, headers=world.editor)
    finally:
        runtime.storage = real
    assert response.status_code == 503 and response.json()["code"] == "storage_unavailable"
    assert response.headers["retry-after"]
    assert await snapshot(client, world) == before


async def test_a_database_failure_mid_insert_writes_nothing(client, world, host):
    """The database drops out while the nodes are being inserted: 503, and neither the nodes nor the
    revision bump that preceded them remain."""
    await client.post(f"{world.base}/folders", json={"name": "before"}, headers=world.editor)
    before = await snapshot(client, world)

    def fail_node_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO APP_ASSET_NODES"):
            raise sqlalchemy.exc.TimeoutError("injected: the database stopped answering")

    engine = host.engine.sync_engine
    event.listen(engine, "before_cursor_execute", fail_node_inserts)
    try:
        response = await client.post(f"{world.base}/batch-upload", json=BATCH, headers=world.editor)
    finally:
        event.remove(engine, "before_cursor_execute", fail_node_inserts)
    assert response.status_code == 503, response.text
    assert await snapshot(client, world) == before
    # ...and the app works again at once.
    again = await client.post(f"{world.base}/batch-upload", json=BATCH, headers=world.editor)
    assert again.status_code == 201
    assert again.json()["revision"] == before["revision"] + 1


@pytest.mark.parametrize("storage_kind", ["s3"])
async def test_an_unreachable_object_store_is_a_fast_503(client, world, host):
    """Object storage down (nothing listens at its address): the routes that need it answer 503 with
    Retry-After within about two seconds, and the file stays as it was."""
    made = await client.post(
        f"{world.base}/files/upload", json={"name": "a.txt", "size": 1}, headers=world.editor
    )
    node_id = made.json()["node"]["id"]
    runtime = runtime_of(host)
    real = runtime.storage
    assert isinstance(real, S3Storage)
    runtime.storage = S3Storage(
        msgspec.structs.replace(real.settings, endpoint=f"http://127.0.0.1:{free_port()}")
    )
    try:
        started = time.monotonic()
        response = await client.post(f"{world.base}/files/{node_id}/complete", json={}, headers=world.editor)
        elapsed = time.monotonic() - started
        written = await client.put(
            f"{world.base}/files/{node_id}", json={"content": "x"}, headers=world.editor
        )
    finally:
        runtime.storage = real
    assert response.status_code == 503 and response.json()["code"] == "storage_unavailable"
    assert response.headers["retry-after"] and elapsed < 4, elapsed
    assert written.status_code == 503
    tree = (await client.get(f"{world.base}/tree", headers=world.reader)).json()
    assert tree["children"][0]["status"] == "pending"
