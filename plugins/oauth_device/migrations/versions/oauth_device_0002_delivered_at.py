"""oauth_device: delivered_at, so a token nobody received neither authenticates nor lists

Revision ID: oauth_device_0002
Revises: oauth_device_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "oauth_device_0002"
down_revision = "oauth_device_0001"
branch_labels = None
depends_on = None

UNDELIVERED = sa.text("delivered_at IS NULL AND revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("oauth_access_tokens") as batch:
        batch.add_column(sa.Column("delivered_at", DateTimeUTC(timezone=True), nullable=True))
    # Rows minted before this column existed were handed out by their poll (or are long gone).
    op.execute("UPDATE oauth_access_tokens SET delivered_at = created_at")
    op.create_index("ix_oauth_undelivered", "oauth_access_tokens", ["created_at"],
                    sqlite_where=UNDELIVERED, postgresql_where=UNDELIVERED)


def downgrade() -> None:
    op.drop_index("ix_oauth_undelivered", "oauth_access_tokens")
    with op.batch_alter_table("oauth_access_tokens") as batch:
        batch.drop_column("delivered_at")
