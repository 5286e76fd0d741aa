"""An app's tree in memory, as one mutation or read sees it: children by parent, paths, depth, cycles.

Loaded with one statement per request (``service.load_tree``); every check a mutation makes (name
free, parent a folder, no cycle, depth) runs here, under the app's revision lock.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from plugins.app_assets.bodies import FlatNode
from plugins.app_assets.models import FOLDER


@dataclass(slots=True)
class Node:
    id: uuid.UUID
    parent_id: uuid.UUID | None
    node_type: str
    name: str
    extension: str
    size: int
    position: int
    status: str
    sha256: str | None

    def flat(self) -> FlatNode:
        """The flat node every single-node route answers."""
        return FlatNode(
            id=str(self.id),
            node_type=self.node_type,
            name=self.name,
            parent_id=str(self.parent_id) if self.parent_id else None,
            order=self.position,
            extension=self.extension,
            size=self.size,
            status=self.status,
            sha256=self.sha256,
        )


@dataclass
class Tree:
    nodes: dict[uuid.UUID, Node] = field(default_factory=dict)
    children: dict[uuid.UUID | None, list[Node]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, nodes: list[Node]) -> Tree:
        tree = cls()
        for node in nodes:
            tree.nodes[node.id] = node
            tree.children[node.parent_id].append(node)
        for siblings in tree.children.values():
            siblings.sort(key=lambda node: (node.position, node.id))
        return tree

    def __len__(self) -> int:
        return len(self.nodes)

    def names_under(self, parent_id: uuid.UUID | None) -> set[str]:
        return {node.name for node in self.children.get(parent_id, ())}

    def next_position(self, parent_id: uuid.UUID | None) -> int:
        siblings = self.children.get(parent_id, ())
        return max((node.position for node in siblings), default=-1) + 1

    def folder(self, node_id: uuid.UUID | None) -> Node | None:
        """The folder ``node_id`` names (None for the root); a file or an unknown id is None too."""
        node = self.nodes.get(node_id) if node_id else None
        return node if node is not None and node.node_type == FOLDER else None

    def depth_of(self, node_id: uuid.UUID | None) -> int:
        """How deep a node is: 0 for the root, 1 for its children. Walks up at most len(tree) steps."""
        depth, current = 0, node_id
        while current is not None and depth <= len(self.nodes):
            depth += 1
            parent = self.nodes.get(current)
            current = parent.parent_id if parent else None
        return depth

    def within(self, node_id: uuid.UUID | None, ancestor: uuid.UUID) -> bool:
        """Whether ``node_id`` is ``ancestor`` or lies below it."""
        current, steps = node_id, 0
        while current is not None and steps <= len(self.nodes):
            if current == ancestor:
                return True
            parent = self.nodes.get(current)
            current = parent.parent_id if parent else None
            steps += 1
        return False

    def subtree(self, node_id: uuid.UUID) -> list[Node]:
        """The node and everything below it, parents before children (each node once, so even a
        cycle the database was left with by hand cannot make this loop)."""
        found, seen, stack = [], set(), [self.nodes[node_id]]
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            found.append(node)
            stack.extend(self.children.get(node.id, ()))
        return found

    def height(self, node_id: uuid.UUID) -> int:
        """Levels in the subtree under and including ``node_id`` (a file or empty folder: 1)."""
        best, seen, stack = 0, set(), [(self.nodes[node_id], 1)]
        while stack:
            node, level = stack.pop()
            if node.id in seen:
                continue
            seen.add(node.id)
            best = max(best, level)
            stack.extend((child, level + 1) for child in self.children.get(node.id, ()))
        return best

    def path_of(self, node_id: uuid.UUID | None) -> str:
        """``/docs/a.md`` for a node, ``""`` for the root."""
        names: list[str] = []
        current = node_id
        while current is not None and len(names) <= len(self.nodes):
            node = self.nodes[current]
            names.append(node.name)
            current = node.parent_id
        return "".join(f"/{name}" for name in reversed(names))

    def view(self) -> list[dict[str, Any]]:
        """The nested tree: children by ``order``, each with its absolute path (``/docs/a.md``)."""
        root: list[dict[str, Any]] = []
        stack: list[tuple[uuid.UUID | None, str, list[dict[str, Any]]]] = [(None, "", root)]
        while stack:
            parent_id, prefix, into = stack.pop()
            for node in self.children.get(parent_id, ()):
                path = f"{prefix}/{node.name}"
                children: list[dict[str, Any]] = []
                entry: dict[str, Any] = {
                    "id": str(node.id),
                    "node_type": node.node_type,
                    "name": node.name,
                    "path": path,
                    "extension": node.extension,
                    "size": node.size,
                    "status": node.status,
                    "children": children,
                }
                into.append(entry)
                if node.node_type == FOLDER:
                    stack.append((node.id, path, children))
        return root
