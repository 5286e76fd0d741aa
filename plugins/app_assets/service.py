"""The tree's reads and mutations. Every mutation is one database transaction that starts by taking
the app's revision (``_begin``): on PostgreSQL the row lock, on SQLite the write lock, so the checks
that follow (name free, parent a folder, no cycle, depth, limits) see a tree nobody else changes before
this commit. ``If-Match`` compares against that revision (412 when it moved).

Storage I/O stays out of the transaction except URL minting, which must succeed before the commit so
that a client never receives nodes it cannot upload to.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from uuid_utils.compat import uuid7

from core.api import parse_uuid
from plugins.app_assets import errors
from plugins.app_assets.batch import plan_batch
from plugins.app_assets.bodies import BatchNode
from plugins.app_assets.models import FILE, FOLDER, PENDING, READY, AssetNode, AssetTree, DeletedObject
from plugins.app_assets.names import extension_of, name_problem, unique_name
from plugins.app_assets.runtime import Runtime
from plugins.app_assets.storage import object_key
from plugins.app_assets.tree import Node, Tree

NODE_COLUMNS = (
    AssetNode.id,
    AssetNode.parent_id,
    AssetNode.node_type,
    AssetNode.name,
    AssetNode.extension,
    AssetNode.size,
    AssetNode.position,
    AssetNode.status,
    AssetNode.sha256,
)


@dataclass(frozen=True, slots=True)
class AppScope:
    """The app a request works on, and who asks."""

    tenant_id: uuid.UUID
    app_id: uuid.UUID
    actor: uuid.UUID | None  # None for the sweeper

    def key(self, node_id: uuid.UUID) -> str:
        return object_key(self.tenant_id, self.app_id, node_id)


def node_ref(raw: str | None) -> uuid.UUID | None:
    """A parent or node id from a body: null and ``""`` are the root; anything else must be an id."""
    if raw is None or raw == "":
        return None
    parsed = parse_uuid(raw)
    if parsed is None:
        raise errors.node_not_found()
    return parsed


# -- reads -----------------------------------------------------------------------------------------------


async def load_tree(conn: AsyncConnection | AsyncSession, app_id: uuid.UUID) -> Tree:
    rows = await conn.execute(select(*NODE_COLUMNS).where(AssetNode.app_id == app_id))
    return Tree.of([Node(*row) for row in rows.all()])


async def revision_of(conn: AsyncConnection | AsyncSession, app_id: uuid.UUID) -> int:
    found = await conn.scalar(select(AssetTree.revision).where(AssetTree.app_id == app_id))
    return int(found or 0)


async def read_tree(runtime: Runtime, app: AppScope) -> tuple[int, Tree]:
    """The tree and its revision, read in one transaction so they agree."""
    async with runtime.ctx.session() as session:
        return await revision_of(session, app.app_id), await load_tree(session, app.app_id)


def node_of(tree: Tree, node_id: uuid.UUID | None) -> Node:
    node = tree.nodes.get(node_id) if node_id else None
    if node is None:
        raise errors.node_not_found()
    return node


def file_of(tree: Tree, node_id: uuid.UUID | None) -> Node:
    node = tree.nodes.get(node_id) if node_id else None
    if node is None or node.node_type != FILE:
        raise errors.node_not_found()
    return node


async def one_file(runtime: Runtime, app: AppScope, node_id: uuid.UUID | None) -> Node:
    """A file of this app (404 for a folder, another app's node or none), read without the lock."""
    async with runtime.ctx.reads.connect() as conn:
        row = (
            await conn.execute(
                select(*NODE_COLUMNS).where(AssetNode.id == node_id, AssetNode.app_id == app.app_id)
            )
        ).first()
    node = Node(*row) if row else None
    if node is None or node.node_type != FILE:
        raise errors.node_not_found()
    return node


async def read_text(runtime: Runtime, app: AppScope, node_id: uuid.UUID | None) -> str:
    node = _ready_file(await one_file(runtime, app, node_id))
    if node.size > runtime.settings.max_text_bytes:
        raise errors.invalid(
            f"the file is {node.size} bytes; text is read up to {runtime.settings.max_text_bytes} "
            "(use its download URL)"
        )
    data = await runtime.storage.read(app.key(node.id))
    if data is None:
        raise errors.conflict("the file's bytes are missing from storage", "upload_missing")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.invalid("the file is not UTF-8 text (use its download URL)") from None


async def download_url(runtime: Runtime, app: AppScope, node_id: uuid.UUID | None) -> str:
    node = _ready_file(await one_file(runtime, app, node_id))
    return runtime.storage.download_url(
        app.key(node.id), filename=node.name, expires_in=runtime.settings.download_url_seconds
    )


def _ready_file(node: Node) -> Node:
    if node.status != READY:
        raise errors.conflict("the file's upload has not been completed", "upload_pending")
    return node


# -- the mutation protocol -------------------------------------------------------------------------------


async def _begin(
    session: AsyncSession, app: AppScope, expected: int | None, *, bump: bool = True
) -> tuple[int, Tree]:
    """Take the app's revision (creating its row on first use) and load the tree under it. Without
    ``bump`` the row is rewritten unchanged: the same lock, for a change that is not the tree's."""
    insert_row = {"id": uuid7(), "app_id": app.app_id, "tenant_id": app.tenant_id, "revision": 0}
    dialect = session.bind.dialect.name
    upsert = (pg_insert if dialect == "postgresql" else sqlite_insert)(AssetTree).values(**insert_row)
    await session.execute(upsert.on_conflict_do_nothing(index_elements=[AssetTree.app_id]))
    take = (
        update(AssetTree)
        .where(AssetTree.app_id == app.app_id)
        .values(revision=AssetTree.revision + (1 if bump else 0))
        .returning(AssetTree.revision)
    )
    if expected is not None:
        take = take.where(AssetTree.revision == expected)
    revision = (await session.execute(take)).scalar()
    if revision is None:
        raise errors.revision_mismatch(await revision_of(session, app.app_id))
    return int(revision), await load_tree(session, app.app_id)


@dataclass
class Mutation:
    """One change of an app's tree, under its lock: ``session``, the ``tree`` as the lock found it, and
    the ``revision`` this change makes."""

    runtime: Runtime
    app: AppScope
    session: AsyncSession
    revision: int
    tree: Tree

    def stamp(self) -> dict[str, Any]:
        return {"updated_by": self.app.actor, "updated_at": self.runtime.now()}


@asynccontextmanager
async def mutation(
    runtime: Runtime, app: AppScope, expected: int | None, *, bump: bool = True
) -> AsyncIterator[Mutation]:
    """``async with mutation(runtime, app, if_match) as m:``: the process's lock of the app, then one
    transaction that takes the app's revision first and commits on exit. A unique-name race the checks
    could not see (they cannot, under the lock, but the database has the last word) is a 409."""
    async with runtime.app_lock(app.app_id):
        try:
            async with runtime.ctx.session() as session:
                revision, tree = await _begin(session, app, expected, bump=bump)
                yield Mutation(runtime, app, session, revision, tree)
        except IntegrityError as failed:
            if "unique" not in str(failed.orig).lower():
                raise
            raise errors.path_conflict("a sibling already has that name") from failed


# The node columns a bulk insert writes, with their PostgreSQL array types for ``unnest``.
_BULK_COLUMNS = (
    ("id", "uuid"),
    ("tenant_id", "uuid"),
    ("app_id", "uuid"),
    ("parent_id", "uuid"),
    ("node_type", "text"),
    ("name", "text"),
    ("extension", "text"),
    ("size", "bigint"),
    ("position", "integer"),
    ("status", "text"),
    ("sha256", "text"),
    ("created_by", "uuid"),
    ("updated_by", "uuid"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)
# Built from the constant column list above (no input reaches it).
_UNNEST_INSERT = text(
    f"INSERT INTO app_asset_nodes ({', '.join(name for name, _ in _BULK_COLUMNS)}) "  # noqa: S608
    f"SELECT * FROM unnest({', '.join(f'CAST(:{name} AS {kind}[])' for name, kind in _BULK_COLUMNS)})"
)


async def insert_nodes(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """All rows in one statement on PostgreSQL (one array per column, zipped by ``unnest``), whatever
    their number; elsewhere SQLAlchemy's multi-row INSERTs (SQLite caps the parameters of one)."""
    if not rows:
        return
    if session.bind.dialect.name != "postgresql":
        await session.execute(insert(AssetNode), rows)
        return
    await session.execute(_UNNEST_INSERT, {name: [row[name] for row in rows] for name, _ in _BULK_COLUMNS})


# Siblings renumbered per UPDATE: three parameters each stay well under a driver's 32,767.
RENUMBER_CHUNK = 5000


def by_id(values: dict[uuid.UUID, Any]) -> Any:
    """``CASE id WHEN … THEN …``: one value per node, in one UPDATE (each comparison is bound with the
    id column's type, which a bare ``case(mapping, value=...)`` does not do)."""
    return case(*[(AssetNode.id == node_id, value) for node_id, value in values.items()])


def _check_room(runtime: Runtime, tree: Tree, parent: uuid.UUID | None, adding: int = 1) -> None:
    settings = runtime.settings
    if len(tree) + adding > settings.max_nodes_per_app:
        raise errors.too_many_nodes(settings.max_nodes_per_app)
    if tree.depth_of(parent) + 1 > settings.max_depth:
        raise errors.too_deep(settings.max_depth)


def _parent_folder(tree: Tree, parent: uuid.UUID | None) -> None:
    if parent is not None and tree.folder(parent) is None:
        raise errors.node_not_found()  # missing, or a file: upstream answers both alike


def _checked_name(name: str) -> str:
    problem = name_problem(name)
    if problem:
        raise errors.invalid(problem)
    return name


async def _add(m: Mutation, parent: uuid.UUID | None, name: str, node_type: str, **extra: Any) -> Node:
    tree = m.tree
    _parent_folder(tree, parent)
    _check_room(m.runtime, tree, parent)
    final = unique_name(_checked_name(name), node_type == FILE, tree.names_under(parent))
    now = m.runtime.now()
    node = Node(
        id=uuid7(),
        parent_id=parent,
        node_type=node_type,
        name=final,
        extension=extension_of(final, node_type),
        size=extra.get("size", 0),
        position=tree.next_position(parent),
        status=extra.get("status", READY),
        sha256=extra.get("sha256"),
    )
    row = {**_row(node, m.app), "created_by": m.app.actor, "created_at": now, **m.stamp()}
    await m.session.execute(insert(AssetNode), [row])
    return node


def _row(node: Node, app: AppScope) -> dict[str, Any]:
    return {
        "id": node.id,
        "tenant_id": app.tenant_id,
        "app_id": app.app_id,
        "parent_id": node.parent_id,
        "node_type": node.node_type,
        "name": node.name,
        "extension": node.extension,
        "size": node.size,
        "position": node.position,
        "status": node.status,
        "sha256": node.sha256,
    }


# -- mutations -------------------------------------------------------------------------------------------


async def create_folder(
    runtime: Runtime, app: AppScope, expected: int | None, name: str, parent: uuid.UUID | None
) -> tuple[int, Node]:
    async with mutation(runtime, app, expected) as m:
        return m.revision, await _add(m, parent, name, FOLDER)


async def create_file(
    runtime: Runtime,
    app: AppScope,
    expected: int | None,
    name: str,
    size: int,
    parent: uuid.UUID | None,
    sha256: str | None,
) -> tuple[int, Node, str]:
    if size > runtime.settings.max_file_bytes:
        raise errors.file_too_large(runtime.settings.max_file_bytes)
    async with mutation(runtime, app, expected) as m:
        node = await _add(m, parent, name, FILE, size=size, status=PENDING, sha256=sha256)
        # Minted before the commit: a failure here writes nothing.
        url = runtime.storage.upload_url(
            app.key(node.id), node_id=node.id, size=size, expires_in=runtime.settings.upload_url_seconds
        )
        return m.revision, node, url


async def batch_upload(
    runtime: Runtime,
    app: AppScope,
    expected: int | None,
    parent: uuid.UUID | None,
    children: list[BatchNode],
    fail_on_conflict: bool,
) -> tuple[int, list[dict[str, Any]]]:
    async with mutation(runtime, app, expected) as m:
        _parent_folder(m.tree, parent)
        plan = plan_batch(
            m.tree,
            parent,
            children,
            fail_on_conflict=fail_on_conflict,
            settings=runtime.settings,
            actor=app.actor,
            scope=(app.tenant_id, app.app_id),
            now=runtime.now(),
        )
        ttl = runtime.settings.upload_url_seconds
        for row, entry in plan.files:  # every URL before anything is written
            entry["upload_url"] = runtime.storage.upload_url(
                app.key(row["id"]), node_id=row["id"], size=row["size"], expires_in=ttl
            )
        await insert_nodes(m.session, plan.rows)
        return m.revision, plan.answer


async def rename(
    runtime: Runtime, app: AppScope, expected: int | None, node_id: uuid.UUID | None, name: str
) -> tuple[int, Node]:
    async with mutation(runtime, app, expected) as m:
        node = node_of(m.tree, node_id)
        _checked_name(name)
        if name == node.name:
            return m.revision, node
        if name in m.tree.names_under(node.parent_id):
            raise errors.path_conflict(m.tree.path_of(node.parent_id) + "/" + name)
        node.name, node.extension = name, extension_of(name, node.node_type)
        await m.session.execute(
            update(AssetNode)
            .where(AssetNode.id == node.id)
            .values(name=node.name, extension=node.extension, **m.stamp())
        )
        return m.revision, node


async def move(
    runtime: Runtime, app: AppScope, expected: int | None, node_id: uuid.UUID | None, target: uuid.UUID | None
) -> tuple[int, Node]:
    async with mutation(runtime, app, expected) as m:
        tree = m.tree
        node = node_of(tree, node_id)
        _parent_folder(tree, target)
        if target is not None and tree.within(target, node.id):
            raise errors.conflict("a folder cannot move into itself or below itself", "move_cycle")
        if target == node.parent_id:
            return m.revision, node  # already there: nothing to do
        if node.name in tree.names_under(target):
            raise errors.path_conflict(tree.path_of(target) + "/" + node.name)
        if tree.depth_of(target) + tree.height(node.id) > runtime.settings.max_depth:
            raise errors.too_deep(runtime.settings.max_depth)
        node.parent_id, node.position = target, tree.next_position(target)
        await m.session.execute(
            update(AssetNode)
            .where(AssetNode.id == node.id)
            .values(parent_id=target, position=node.position, **m.stamp())
        )
        return m.revision, node


async def reorder(
    runtime: Runtime, app: AppScope, expected: int | None, node_id: uuid.UUID | None, after: uuid.UUID | None
) -> tuple[int, Node]:
    async with mutation(runtime, app, expected) as m:
        tree = m.tree
        node = node_of(tree, node_id)
        siblings = [sibling for sibling in tree.children[node.parent_id] if sibling.id != node.id]
        if after is None or after == node.id:
            index = 0
        else:
            index = next((i + 1 for i, sibling in enumerate(siblings) if sibling.id == after), -1)
            if index < 0:
                raise errors.node_not_found()
        siblings.insert(index, node)
        moved = {
            sibling.id: position for position, sibling in enumerate(siblings) if sibling.position != position
        }
        for sibling in siblings:
            sibling.position = moved.get(sibling.id, sibling.position)
        changed = list(moved.items())
        for start in range(0, len(changed), RENUMBER_CHUNK):  # one statement per chunk of siblings
            chunk = dict(changed[start : start + RENUMBER_CHUNK])
            await m.session.execute(
                update(AssetNode)
                .where(AssetNode.id.in_(list(chunk)))
                .values(position=by_id(chunk), **m.stamp())
            )
        return m.revision, node


async def delete_node(
    runtime: Runtime, app: AppScope, expected: int | None, node_id: uuid.UUID | None
) -> int:
    """The node and everything below it, in one statement (the foreign key cascades); the bytes of its
    files go to the deletion outbox in the same transaction, deleted by the ``delete_objects`` job."""
    async with mutation(runtime, app, expected) as m:
        node = node_of(m.tree, node_id)
        files = [each for each in m.tree.subtree(node.id) if each.node_type == FILE]
        await m.session.execute(delete(AssetNode).where(AssetNode.id == node.id))
        await outbox(m.session, (app.key(each.id) for each in files), runtime)
        return m.revision


async def outbox(session: AsyncSession, keys: Iterable[str], runtime: Runtime) -> None:
    now = runtime.now()
    rows = [{"id": uuid7(), "object_key": key, "created_at": now} for key in keys]
    if rows:
        await session.execute(insert(DeletedObject), rows)


async def write_text(
    runtime: Runtime, app: AppScope, expected: int | None, node_id: uuid.UUID | None, content: str
) -> tuple[int, Node]:
    """Store text as a file's bytes and record its size and SHA-256 (ready).

    The bytes are written under the app's lock, after ``If-Match`` and the node have been checked: a
    refused write changes nothing, and two writers cannot leave one's bytes with the other's size and
    hash. The lock is the database's row lock (it never lapses like a lease), and the write is at most
    ``max_text_bytes`` with storage calls bounded, so holding it is short."""
    data = content.encode()
    if len(data) > runtime.settings.max_text_bytes:
        raise errors.file_too_large(runtime.settings.max_text_bytes)
    async with mutation(runtime, app, expected) as m:
        node = file_of(m.tree, node_id)
        await runtime.storage.write(app.key(node.id), data)
        node.size, node.status, node.sha256 = len(data), READY, hashlib.sha256(data).hexdigest()
        await m.session.execute(
            update(AssetNode)
            .where(AssetNode.id == node.id)
            .values(size=node.size, status=READY, sha256=node.sha256, **m.stamp())
        )
        return m.revision, node


async def complete(
    runtime: Runtime, app: AppScope, items: list[tuple[uuid.UUID | None, str | None]]
) -> tuple[int, list[Node]]:
    """Check each file's object (exists, the declared size, the SHA-256 if one was given at creation or
    now) and mark it ready. Any mismatch is a 409 naming the file, and nothing is marked."""
    async with runtime.ctx.session() as session:
        tree = await load_tree(session, app.app_id)
    checked: list[tuple[Node, int, str | None]] = []
    for node_id, sha256 in dict(reversed(items)).items():  # each file once (its first checksum)
        node = file_of(tree, node_id)
        if node.status == READY:
            checked.append((node, node.size, node.sha256))  # completed already: nothing to check again
            continue
        if sha256 and node.sha256 and sha256 != node.sha256:
            raise errors.conflict(
                f"{tree.path_of(node.id)}: a different SHA-256 was declared when the file was created",
                "sha256_mismatch",
            )
        expected_sha = sha256 or node.sha256
        # A backend that hashes cheaply (the local one) records it even when nobody declared one.
        with_sha256 = expected_sha is not None or runtime.storage.hashes_cheaply
        info = await runtime.storage.stat_upload(app.key(node.id), with_sha256=with_sha256)
        if info is None:
            raise errors.conflict(f"{tree.path_of(node.id)}: no bytes were uploaded", "upload_missing")
        if info.size != node.size:
            raise errors.conflict(
                f"{tree.path_of(node.id)}: {info.size} bytes arrived, {node.size} were declared",
                "size_mismatch",
            )
        if expected_sha is not None and info.sha256 != expected_sha:
            raise errors.conflict(f"{tree.path_of(node.id)}: SHA-256 does not match", "sha256_mismatch")
        checked.append((node, info.size, info.sha256 or expected_sha))
    async with mutation(runtime, app, None) as m:
        done, ready = [], {}
        for node, size, sha in checked:
            current = m.tree.nodes.get(node.id)
            if current is None:
                raise errors.node_not_found()
            done.append(current)
            if current.status == PENDING:  # a text write may have made it ready meanwhile: keep that
                current.size, current.status, current.sha256 = size, READY, sha
                ready[current.id] = sha
        for node_id in ready:  # the uploaded bytes become the file's (S3: out of the staging key)
            await runtime.storage.finish_upload(app.key(node_id))
        if ready:
            await m.session.execute(
                update(AssetNode)
                .where(AssetNode.id.in_(list(ready)))
                .values(status=READY, sha256=by_id(ready), **m.stamp())
            )
        return m.revision, done


async def remove_stale(
    runtime: Runtime, app: AppScope, node_ids: list[uuid.UUID], cutoff: datetime.datetime
) -> int:
    """Delete these files if they are still pending (checked again under the app's lock: one may have
    completed since the sweeper looked); their bytes, if any arrived, go to the outbox."""
    async with mutation(runtime, app, None) as m:
        stale = [
            m.tree.nodes[node_id]
            for node_id in node_ids
            if node_id in m.tree.nodes and m.tree.nodes[node_id].status == PENDING
        ]
        if stale:
            await m.session.execute(
                delete(AssetNode).where(
                    AssetNode.id.in_([node.id for node in stale]),
                    AssetNode.status == PENDING,
                    AssetNode.created_at < cutoff,
                )
            )
            await outbox(m.session, [app.key(node.id) for node in stale], runtime)
        return len(stale)
