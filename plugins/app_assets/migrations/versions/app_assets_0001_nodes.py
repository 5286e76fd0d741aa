"""app_assets: app_asset_nodes, app_asset_trees, app_asset_deleted_objects

Revision ID: app_assets_0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "app_assets_0001"
down_revision = None
branch_labels = ("app_assets",)
depends_on = "core_0001"

ROOT = sa.text("parent_id IS NULL")
CHILD = sa.text("parent_id IS NOT NULL")
PENDING = sa.text("status = 'pending'")


def _id() -> list[sa.Column]:
    return [
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "app_asset_nodes",
        *_id(),
        sa.Column("tenant_id", GUID(length=16), nullable=False),
        sa.Column("app_id", GUID(length=16), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "parent_id", GUID(length=16), sa.ForeignKey("app_asset_nodes.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("node_type", sa.String(8), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("extension", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("created_by", GUID(length=16), nullable=True),
        sa.Column("updated_by", GUID(length=16), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    )
    op.create_index("ix_app_asset_nodes_app", "app_asset_nodes", ["app_id", "parent_id"])
    op.create_index("uq_app_asset_nodes_root_name", "app_asset_nodes", ["app_id", "name"], unique=True,
                    sqlite_where=ROOT, postgresql_where=ROOT)
    op.create_index("uq_app_asset_nodes_sibling_name", "app_asset_nodes", ["parent_id", "name"], unique=True,
                    sqlite_where=CHILD, postgresql_where=CHILD)
    op.create_index("ix_app_asset_nodes_pending", "app_asset_nodes", ["created_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table(
        "app_asset_trees",
        *_id(),
        sa.Column("app_id", GUID(length=16), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tenant_id", GUID(length=16), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
    )
    op.create_index("uq_app_asset_trees_app", "app_asset_trees", ["app_id"], unique=True)
    op.create_table(
        "app_asset_deleted_objects",
        *_id(),
        sa.Column("object_key", sa.String(255), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_asset_deleted_objects")
    op.drop_table("app_asset_trees")
    op.drop_table("app_asset_nodes")
