"""Test databases: a PostgreSQL database per test session, and every table emptied between tests."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Alembic's own bookkeeping survives between tests: the schema does not change, only the rows.
_KEPT_PREFIX = "alembic_version"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_pg_database(admin_url: str, name: str) -> str:
    """A fresh, empty database called ``name`` (dropped first if a crashed run left it); its URL."""
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
        await conn.execute(text(f"CREATE DATABASE {_quoted(name)}"))
    await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
    await engine.dispose()


async def _table_names(conn: AsyncConnection) -> list[str]:
    """Every table of the database, whichever plugin made it (read from the database, not from the
    models a test happened to import)."""
    if conn.dialect.name == "postgresql":
        query = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    names = (await conn.execute(text(query))).scalars()
    return sorted(name for name in names if not name.startswith(_KEPT_PREFIX))


async def empty_tables(engine: AsyncEngine) -> None:
    """Delete every row of every table but alembic's."""
    async with engine.begin() as conn:
        tables = await _table_names(conn)
        if not tables:
            return
        if conn.dialect.name == "postgresql":
            await conn.execute(text("TRUNCATE " + ", ".join(map(_quoted, tables)) + " CASCADE"))
            return
        # Foreign keys are off for the emptying only, so the order of the tables does not matter.
        await conn.execute(text("PRAGMA defer_foreign_keys = ON"))
        for table in tables:
            await conn.execute(text(f"DELETE FROM {_quoted(table)}"))  # noqa: S608 - names from the catalogue
