"""oauth_device: the oauth_access_tokens table

Revision ID: oauth_device_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import op

revision = "oauth_device_0001"
down_revision = None
branch_labels = ("oauth_device",)
depends_on = "core_0001"

LIVE = sa.text("revoked_at IS NULL")
LIVE_ACCOUNT = sa.text("revoked_at IS NULL AND account_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "oauth_access_tokens",
        sa.Column("id", GUID(length=16), primary_key=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("subject_email", sa.Text(), nullable=False),
        sa.Column("subject_issuer", sa.Text(), nullable=True),
        sa.Column("account_id", GUID(length=16), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("device_label", sa.Text(), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
    )
    op.create_index("idx_oauth_subject_email", "oauth_access_tokens", ["subject_email"],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index("idx_oauth_client", "oauth_access_tokens", ["subject_email", "client_id"],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index("idx_oauth_account", "oauth_access_tokens", ["account_id"],
                    sqlite_where=LIVE_ACCOUNT, postgresql_where=LIVE_ACCOUNT)
    op.create_index(
        "uq_oauth_active_per_device",
        "oauth_access_tokens",
        ["subject_email", "subject_issuer", "client_id", "device_label"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_index("ix_oauth_expires_at", "oauth_access_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_access_tokens")
