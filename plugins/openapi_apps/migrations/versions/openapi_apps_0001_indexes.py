"""openapi_apps: indexes for the apps list (filter + order) and the describe name lookup

Revision ID: openapi_apps_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "openapi_apps_0001"
down_revision = None
branch_labels = ("openapi_apps",)
depends_on = "core_0001"

# Exactly the list query's literal predicate, so both planners can prove the partial index usable.
LISTABLE = "status = 'normal' AND enable_api AND NOT is_universal"


def upgrade() -> None:
    op.create_index(
        "ix_apps_openapi_listable",
        "apps",
        ["tenant_id", sa.text("created_at DESC")],
        sqlite_where=sa.text(LISTABLE),
        postgresql_where=sa.text(LISTABLE),
    )
    op.create_index("ix_apps_openapi_tenant_name", "apps", ["tenant_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_apps_openapi_tenant_name", table_name="apps")
    op.drop_index("ix_apps_openapi_listable", table_name="apps")
