"""Alembic environment: one script folder per plugin (its own branch) plus core's, applied together.

Only the enabled plugins' branches are in the script directory. A revision the database records for a
plugin that is disabled, blocked or uninstalled is parked for the run (taken out of the version table,
then put back in the same transaction): the other branches upgrade as usual, and the parked plugin
continues from where it was when it is enabled again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.db.base import metadata

config = context.config
VERSION_TABLE = "alembic_version"
PARK = text("DELETE FROM alembic_version WHERE version_num = :r")
UNPARK = text("INSERT INTO alembic_version (version_num) VALUES (:r)")


def _recorded(connection: Connection) -> list[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _record_applied(
    ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]
) -> None:
    """What this run applied, for ``difyd database upgrade`` to report."""
    if step.is_upgrade:
        config.attributes.setdefault("applied", []).append(step.up_revision_id)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=_record_applied,
    )
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with context.begin_transaction():
        parked = [revision for revision in _recorded(connection) if revision not in known]
        config.attributes["parked"] = parked
        for revision in parked:
            connection.execute(PARK, {"r": revision})
        context.run_migrations()
        for revision in parked:
            connection.execute(UNPARK, {"r": revision})


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "alembic_config() always sets sqlalchemy.url"
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
