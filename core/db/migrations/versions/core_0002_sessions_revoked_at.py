"""core: accounts.sessions_revoked_at, so an admin (or a new password) can end console sessions

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("sessions_revoked_at", DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("sessions_revoked_at")
