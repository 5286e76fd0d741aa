"""Concurrency: every mutation of an app's tree takes the app's revision first (a row lock on
PostgreSQL, the write lock on SQLite), so concurrent changes see each other. These requests really
race: they are sent together on one event loop, each on its own database connection, and a control
shows the same race without the lock producing the cycle the lock prevents.

Each process also queues one app's changes behind an in-process lock (it spares SQLite's busy wait);
these tests switch it off, as two replicas share none, so that the database's lock alone is tested."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plugins.app_assets import service
from plugins.app_assets.runtime import Runtime
from plugins.app_assets.tree import Tree

from .conftest import World

ROUNDS = 8


@pytest.fixture(autouse=True)
def as_separate_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    """No in-process lock shared between the racing requests: each gets a lock of its own."""
    monkeypatch.setattr(Runtime, "app_lock", lambda self, app_id: asyncio.Lock())


# The lock is the database's: which storage holds the bytes does not matter here.
pytestmark = pytest.mark.parametrize("storage_kind", ["local"])


async def folders(client: Any, world: World, *names: str) -> list[str]:
    ids = []
    for name in names:
        response = await client.post(f"{world.base}/folders", json={"name": name}, headers=world.editor)
        ids.append(response.json()["id"])
    return ids


def has_cycle(tree: Tree) -> bool:
    return any(tree.within(node.parent_id, node.id) for node in tree.nodes.values() if node.parent_id)


async def cross_moves(client: Any, world: World, host: Any) -> tuple[list[int], bool]:
    a, b = await folders(client, world, "A", "B")
    answers = await asyncio.gather(
        client.post(f"{world.base}/nodes/{a}/move", json={"parent_id": b}, headers=world.editor),
        client.post(f"{world.base}/nodes/{b}/move", json={"parent_id": a}, headers=world.editor),
    )
    async with host.session() as session:
        tree = await service.load_tree(session, __import__("uuid").UUID(world.app_id))
    for node in (a, b):
        await client.delete(f"{world.base}/nodes/{node}", headers=world.editor)
    return sorted(answer.status_code for answer in answers), has_cycle(tree)


async def test_two_crossing_moves_never_make_a_cycle(client, world, host):
    """A into B and B into A at once: exactly one wins, the other is refused as a cycle; never both."""
    for _ in range(ROUNDS):
        statuses, cycle = await cross_moves(client, world, host)
        assert statuses == [200, 409] and not cycle


async def test_control_without_the_lock_the_same_race_makes_a_cycle(client, world, host, monkeypatch):
    """The control: the same crossing moves, each reading the tree without taking the revision first,
    both succeed at least once in a few rounds and leave A and B inside each other."""

    async def unlocked(session: Any, app: Any, expected: Any, **_: Any) -> tuple[int, Tree]:
        tree = await service.load_tree(session, app.app_id)
        await asyncio.sleep(0.01)  # what a slow moment between read and write looks like
        return 0, tree

    monkeypatch.setattr(service, "_begin", unlocked)
    results = [await cross_moves(client, world, host) for _ in range(ROUNDS)]
    assert any(cycle for _, cycle in results), results


async def test_two_batches_into_one_folder_get_distinct_names(client, world):
    """Two batches creating 'docs' in the same folder at once: both succeed, as 'docs' and 'docs 1'."""
    (target,) = await folders(client, world, "target")
    batch = {
        "parent_id": target,
        "children": [
            {
                "name": "docs",
                "node_type": "folder",
                "children": [{"name": "a.md", "node_type": "file", "size": 1}],
            }
        ],
    }
    answers = await asyncio.gather(
        *[client.post(f"{world.base}/batch-upload", json=batch, headers=world.editor) for _ in range(4)]
    )
    assert [answer.status_code for answer in answers] == [201] * 4
    names = sorted(answer.json()["children"][0]["name"] for answer in answers)
    assert names == ["docs", "docs 1", "docs 2", "docs 3"]
    revisions = sorted(answer.json()["revision"] for answer in answers)
    assert len(set(revisions)) == 4  # each saw the tree the one before it left


@pytest.mark.parametrize("conflict", ["fail"])
async def test_concurrent_fail_batches_one_wins(client, world, conflict):
    """With on_conflict: fail, of several batches creating the same name at once exactly one lands."""
    batch = {"on_conflict": conflict, "children": [{"name": "only", "node_type": "folder"}]}
    answers = await asyncio.gather(
        *[client.post(f"{world.base}/batch-upload", json=batch, headers=world.editor) for _ in range(4)]
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409]
