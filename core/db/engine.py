"""The database engine for the selected database, every wait bounded (see ``create_engine``).

How the project talks to its database (the rule for core and plugins alike):
- hot reads are SQLAlchemy Core statements built once with bound parameters, run on the host's
  autocommit read engine (``HostContext.reads``): one round trip, no ORM, no transaction;
- writes go through services on a session (``HostContext.session()``), one transaction each;
- advanced-alchemy supplies the declarative bases (UUIDv7 ids, audit columns) and column types.
  Its Litestar plugin (request-scoped sessions) is not installed: no route asks for one, and it cost
  every response a hook.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from core.db.pool import FairAsyncQueuePool
from core.http.metrics import counter
from core.settings import Settings, resolved_database_url

SQL_STATEMENTS = counter("sql_statements", "SQL statements sent to the database")


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def enable(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the writer; foreign keys are off by default in SQLite. The busy
        # timeout bounds the wait for another writer's lock: past it the request answers 503.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return enable


def _replace_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Hand out no pooled connection the server has already closed (a restart, a failover,
    ``pg_terminate_backend``): the pool drops it and checks out, or opens, another.

    asyncpg notices the server's goodbye as soon as the event loop reads it, so this check costs no
    round trip, unlike ``pool_pre_ping``'s ``SELECT 1`` on every checkout.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("pooled connection closed by the server")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _count_statement(*_: Any) -> None:
    SQL_STATEMENTS.inc()


def create_engine(settings: Settings, *, background: bool = False) -> AsyncEngine:
    """The API's engine, every wait bounded for a fast 503; ``background`` (workers, the command
    line) waits up to ``database.background_timeout`` instead, since nobody is waiting on an answer."""
    url = resolved_database_url(settings)
    database = settings.database
    slow = database.background_timeout
    # Statement parameters (emails, names) never reach an error message or a log line.
    common: dict[str, Any] = {
        "echo": database.echo,
        "hide_parameters": True,
        "pool_timeout": slow if background else database.pool_timeout,
    }
    if is_sqlite(url):
        engine = create_async_engine(url, **common)
        busy = slow if background else database.sqlite_busy_timeout
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(int(busy * 1000)))
    else:
        command_timeout = slow if background else database.command_timeout
        engine = create_async_engine(
            url,
            **common,
            pool_size=database.pool_size,
            max_overflow=0,
            poolclass=FairAsyncQueuePool,
            connect_args={"timeout": database.connect_timeout, "command_timeout": command_timeout},
        )
        event.listen(engine.sync_engine.pool, "checkout", _replace_closed_connection)
    # Statements per request is a first-class figure (benchmarks read it from /metrics).
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    return engine
