"""The plugin's tables: one row per node of an app's draft tree, and one revision row per app.

Nodes form an adjacency list (``parent_id``); a name is unique among its siblings (two partial unique
indexes, since NULL parents never collide in SQL). Bytes live in object storage under a key built from
the ids only (``storage.object_key``), so renaming or moving a node never touches storage.

The revision row is the per-app serialisation point: every mutation starts by incrementing it in its
own transaction (a row lock on PostgreSQL, the write lock on SQLite), so the checks that follow (names
free, no cycle) run against a tree no other writer can change before the commit.
"""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.api import UUIDv7Base

FILE = "file"
FOLDER = "folder"
PENDING = "pending"
READY = "ready"


class AssetNode(UUIDv7Base):
    __tablename__ = "app_asset_nodes"
    __table_args__ = (
        Index("ix_app_asset_nodes_app", "app_id", "parent_id"),
        Index(
            "uq_app_asset_nodes_root_name",
            "app_id",
            "name",
            unique=True,
            sqlite_where=text("parent_id IS NULL"),
            postgresql_where=text("parent_id IS NULL"),
        ),
        Index(
            "uq_app_asset_nodes_sibling_name",
            "parent_id",
            "name",
            unique=True,
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
        Index(
            "ix_app_asset_nodes_pending",
            "created_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(GUID(length=16))
    app_id: Mapped[uuid.UUID] = mapped_column(GUID(length=16), ForeignKey("apps.id", ondelete="CASCADE"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID(length=16), ForeignKey("app_asset_nodes.id", ondelete="CASCADE"), default=None
    )
    node_type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)  # "order" among siblings, smallest first
    status: Mapped[str] = mapped_column(String(8), default=READY)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(GUID(length=16), default=None)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(GUID(length=16), default=None)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))


class AssetTree(UUIDv7Base):
    """One per app with assets: the revision the tree answers as its ETag and If-Match compares to."""

    __tablename__ = "app_asset_trees"
    __table_args__ = (Index("uq_app_asset_trees_app", "app_id", unique=True),)

    app_id: Mapped[uuid.UUID] = mapped_column(GUID(length=16), ForeignKey("apps.id", ondelete="CASCADE"))
    tenant_id: Mapped[uuid.UUID] = mapped_column(GUID(length=16))
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class DeletedObject(UUIDv7Base):
    """The outbox of bytes to delete: written in the transaction that deletes the nodes, emptied by
    the ``delete_objects`` job once storage has deleted them (so a failed delete is retried)."""

    __tablename__ = "app_asset_deleted_objects"

    object_key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
