"""openapi_apps: list indexes that serve the page in order and the exact count from the index alone

Revision ID: openapi_apps_0002
Revises: openapi_apps_0001
Create Date: 2026-11-22

The predicate now includes the five modes the API addresses, so neither statement of a list request
re-checks ``mode`` in the table:

- ``ix_apps_openapi_listable`` (tenant_id, created_at DESC, id DESC): the page, in its exact order
  (newest first, id as tie-breaker) without a sort step;
- ``ix_apps_openapi_listable_count`` (tenant_id): the exact ``count(*)`` as an index-only scan of a
  small index (PostgreSQL deduplicates the repeated tenant id: ~100 pages for 100k apps instead of ~800).
"""

import sqlalchemy as sa
from alembic import op

revision = "openapi_apps_0002"
down_revision = "openapi_apps_0001"
branch_labels = None
depends_on = None

# Exactly the list query's literal predicate (repository.LISTABLE), so both planners can prove the
# partial indexes usable.
LISTABLE = (
    "status = 'normal' AND enable_api AND NOT is_universal"
    " AND mode IN ('completion', 'workflow', 'chat', 'advanced-chat', 'agent-chat')"
)
PREVIOUS = "status = 'normal' AND enable_api AND NOT is_universal"


def upgrade() -> None:
    op.drop_index("ix_apps_openapi_listable", table_name="apps")
    op.create_index(
        "ix_apps_openapi_listable",
        "apps",
        ["tenant_id", sa.text("created_at DESC"), sa.text("id DESC")],
        sqlite_where=sa.text(LISTABLE),
        postgresql_where=sa.text(LISTABLE),
    )
    op.create_index(
        "ix_apps_openapi_listable_count",
        "apps",
        ["tenant_id"],
        sqlite_where=sa.text(LISTABLE),
        postgresql_where=sa.text(LISTABLE),
    )


def downgrade() -> None:
    op.drop_index("ix_apps_openapi_listable_count", table_name="apps")
    op.drop_index("ix_apps_openapi_listable", table_name="apps")
    op.create_index(
        "ix_apps_openapi_listable",
        "apps",
        ["tenant_id", sa.text("created_at DESC")],
        sqlite_where=sa.text(PREVIOUS),
        postgresql_where=sa.text(PREVIOUS),
    )
