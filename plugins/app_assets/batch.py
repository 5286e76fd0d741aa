"""Batch upload, planned in memory before anything is written: the whole payload is validated (names,
sizes, depth, the app's node limit), names are de-duplicated against existing siblings and within the
batch (or refused with ``on_conflict: "fail"``), and every row is built. The service then mints every
upload URL and writes all rows in one bulk insert, in one transaction, or nothing at all.

The answer mirrors the request: same order and nesting, with ids, final names, ``upload_url`` on files
and each node's ``client_key`` echoed, so a client can match by position or key (never by a name the
server may have changed).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from uuid_utils.compat import uuid7

from plugins.app_assets import errors
from plugins.app_assets.bodies import BatchNode
from plugins.app_assets.models import FILE, PENDING, READY
from plugins.app_assets.names import extension_of, name_problem, numbered_name
from plugins.app_assets.settings import AppAssetsSettings
from plugins.app_assets.tree import Tree


@dataclass
class BatchPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    answer: list[dict[str, Any]] = field(default_factory=list)
    # (row, the answer entry to give an upload_url) for each file, in request order.
    files: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)


def count_nodes(children: list[BatchNode]) -> int:
    total, stack = 0, list(children)
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(node.children)
    return total


def plan_batch(
    tree: Tree,
    parent_id: uuid.UUID | None,
    children: list[BatchNode],
    *,
    fail_on_conflict: bool,
    settings: AppAssetsSettings,
    actor: uuid.UUID | None,
    scope: tuple[uuid.UUID, uuid.UUID],
    now: datetime.datetime,
) -> BatchPlan:
    """Every row of the batch, or the first problem as an ApiError (nothing is written either way)."""
    tenant_id, app_id = scope
    incoming = count_nodes(children)
    if len(tree) + incoming > settings.max_nodes_per_app:
        raise errors.too_many_nodes(settings.max_nodes_per_app)
    base_depth = tree.depth_of(parent_id)
    base_path = tree.path_of(parent_id)
    plan = BatchPlan()
    # The names taken under each parent the batch writes into: the target's existing children, then
    # every name this batch assigns.
    taken: dict[uuid.UUID | None, set[str]] = {parent_id: tree.names_under(parent_id)}
    next_number: dict[tuple[uuid.UUID | None, str], int] = {}
    first = tree.next_position(parent_id)
    stack: list[tuple[BatchNode, uuid.UUID | None, int, int, str, list[dict[str, Any]]]] = [
        (node, parent_id, first + index, base_depth + 1, base_path, plan.answer)
        for index, node in reversed(list(enumerate(children)))
    ]
    # Depth-first, pre-order, in request order: parents are inserted before their children.
    while stack:
        node, parent, position, depth, prefix, into = stack.pop()
        problem = name_problem(node.name)
        if problem:
            raise errors.invalid(f"{prefix}/{node.name}: {problem}")
        if depth > settings.max_depth:
            raise errors.too_deep(settings.max_depth)
        is_file = node.node_type == FILE
        if is_file and node.children:
            raise errors.invalid(f"{prefix}/{node.name}: a file cannot have children")
        if is_file and node.size > settings.max_file_bytes:
            raise errors.file_too_large(settings.max_file_bytes)
        siblings = taken.setdefault(parent, set())
        if node.name in siblings and fail_on_conflict:
            raise errors.path_conflict(f"{prefix}/{node.name}")
        # Numbering resumes per parent and name: 12,000 copies of one name cost 12,000 tries, not 72 million.
        name, number = numbered_name(node.name, is_file, siblings, next_number.get((parent, node.name), 1))
        if number:
            next_number[(parent, node.name)] = number + 1
        siblings.add(name)
        node_id = uuid7()
        row = {
            "id": node_id,
            "tenant_id": tenant_id,
            "app_id": app_id,
            "parent_id": parent,
            "node_type": node.node_type,
            "name": name,
            "extension": extension_of(name, node.node_type),
            "size": node.size if is_file else 0,
            "position": position,
            "status": PENDING if is_file else READY,
            "sha256": node.sha256 if is_file else None,
            "created_by": actor,
            "updated_by": actor,
            "created_at": now,
            "updated_at": now,
        }
        plan.rows.append(row)
        entry: dict[str, Any] = {
            "id": str(node_id),
            "name": name,
            "node_type": node.node_type,
            "size": row["size"],
            "client_key": node.client_key,
            "upload_url": None,
            "children": [],
        }
        into.append(entry)
        if is_file:
            plan.files.append((row, entry))
        else:
            taken[node_id] = set()
            path = f"{prefix}/{name}"
            stack.extend(
                (child, node_id, index, depth + 1, path, entry["children"])
                for index, child in reversed(list(enumerate(node.children)))
            )
    return plan
