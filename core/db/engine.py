"""The advanced-alchemy configuration for the selected database."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import AsyncSessionConfig, SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.db.pool import FairAsyncQueuePool
from core.http.metrics import counter
from core.settings import Settings, resolved_database_url

SQL_STATEMENTS = counter("sql_statements", "SQL statements sent to the database")


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _count_statement(*_: Any) -> None:
    SQL_STATEMENTS.inc()


def create_engine(settings: Settings) -> AsyncEngine:
    url = resolved_database_url(settings)
    if is_sqlite(url):
        engine = create_async_engine(url, echo=settings.database.echo)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
    else:
        engine = create_async_engine(
            url,
            echo=settings.database.echo,
            pool_size=settings.database.pool_size,
            max_overflow=0,
            poolclass=FairAsyncQueuePool,
            pool_pre_ping=False,
        )
    # Statements per request is a first-class figure (benchmarks read it from /metrics).
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine


def create_db_config(engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        create_all=False,
    )
