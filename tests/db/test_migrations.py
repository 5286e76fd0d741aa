"""Migrations and models agree: what alembic builds is what the code maps."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db.base import metadata


def _differences(connection: Any) -> list[Any]:
    # SQLite reflects custom types (GUID as BINARY(16)) under its own affinity names, so types are
    # compared on PostgreSQL only; tables, columns, nullability and indexes on both.
    compare_types = connection.dialect.name != "sqlite"
    context = MigrationContext.configure(connection, opts={"compare_type": compare_types})
    # A plugin may add indexes to tables it does not map (openapi_apps indexes `apps` for its list
    # query, in its own branch): an index in the database that no model declares is allowed.
    return [diff for diff in compare_metadata(context, metadata) if diff[0] != "remove_index"]


async def test_migrated_schema_matches_every_model(host):
    """After `difyd database upgrade`, every model's tables, columns, types and indexes exist as declared."""
    async with host.engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == []
