"""core domain: accounts, tenants, memberships, apps, tags

Revision ID: core_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def _audit() -> list[sa.Column]:
    return [
        sa.Column("id", GUID(length=16), primary_key=True),
        # advanced-alchemy's insertmanyvalues sentinel, part of every UUID-keyed model.
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "accounts",
        *_audit(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_index("uq_accounts_email_lower", "accounts", [sa.text("lower(email)")], unique=True)
    op.create_table(
        "tenants",
        *_audit(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
    )
    op.create_table(
        "tenant_account_joins",
        *_audit(),
        sa.Column("tenant_id", GUID(length=16), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", GUID(length=16), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("tenant_id", "account_id", name="uq_tenant_account_joins"),
    )
    op.create_index("ix_tenant_account_joins_account", "tenant_account_joins", ["account_id"])
    op.create_table(
        "apps",
        *_audit(),
        sa.Column("tenant_id", GUID(length=16), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("icon", sa.String(255), nullable=False, server_default=""),
        sa.Column("icon_background", sa.String(32), nullable=False, server_default=""),
        sa.Column("enable_api", sa.Boolean(), nullable=False),
        sa.Column("is_universal", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", GUID(length=16), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("config", JsonB, nullable=True),
    )
    op.create_index("ix_apps_tenant_created", "apps", ["tenant_id", "created_at"])
    op.create_table(
        "tags",
        *_audit(),
        sa.Column("tenant_id", GUID(length=16), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_by", GUID(length=16), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
    )
    op.create_index("ix_tags_tenant_type_name", "tags", ["tenant_id", "type", "name"])
    op.create_table(
        "tag_bindings",
        *_audit(),
        sa.Column("tenant_id", GUID(length=16), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tag_id", GUID(length=16), sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_id", GUID(length=16), sa.ForeignKey("apps.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by", GUID(length=16), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
        sa.UniqueConstraint("tag_id", "target_id", name="uq_tag_bindings_tag_target"),
    )
    op.create_index("ix_tag_bindings_target", "tag_bindings", ["target_id"])


def downgrade() -> None:
    for table in ("tag_bindings", "tags", "apps", "tenant_account_joins", "tenants", "accounts"):
        op.drop_table(table)
