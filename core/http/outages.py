"""Which failures are a dependency's (database, Redis) rather than this request's or our code's.

Every wait on the database and on Redis is bounded (``database.*_timeout``, ``redis.*_timeout``), so
these errors arrive within those bounds; ``core.http.errors`` answers them with 503 ErrorBody and
Retry-After, and logs one line (no traceback, no statement parameters) for whoever is on call.
"""

from __future__ import annotations

import redis.exceptions
import sqlalchemy.exc

# Raised by redis-py when Redis refuses, drops or does not answer in time (BusyLoadingError, a
# restarting Redis, is a ConnectionError too).
STATE_STORE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# A failing database: SQLAlchemy's pool could not hand out a connection in time, or the driver's
# connection broke (invalidated, closed). Anything else a statement raises (a syntax error, a missing
# table, a constraint) is our bug or the request's, and must stay visible as one.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlalchemy.exc.TimeoutError,)
# SQLSTATE classes of an unavailable PostgreSQL: connection exception, insufficient resources
# (too many connections, disk full), operator intervention (shutdown, cannot connect now), system error.
PG_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
# SQLite result codes of an unavailable database file: busy and locked (another writer past the busy
# timeout), I/O error, full disk, cannot open.
SQLITE_UNAVAILABLE = frozenset({5, 6, 10, 13, 14})
# What a driver raises on its own before SQLAlchemy wraps it (connect-time failures, timeouts).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)
# Driver packages by the dependency they talk to, for errors raised unwrapped (a timeout, a reset).
_DRIVERS = (
    ("redis", "state_store"),
    ("asyncpg", "database"),
    ("aiosqlite", "database"),
    ("sqlalchemy", "database"),
)


def _driver_of(exc: BaseException) -> str | None:
    """The dependency whose driver the error passed through (innermost first), if any."""
    frames = []
    traceback = exc.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_globals.get("__name__", ""))
        traceback = traceback.tb_next
    for module in reversed(frames):
        for driver, name in _DRIVERS:
            if module.startswith(driver):
                return name
    return None


def dependency_of(exc: BaseException) -> str:
    """``database`` or ``state_store``: from the error's type, else from the driver that raised it."""
    if isinstance(exc, STATE_STORE_ERRORS):
        return "state_store"
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        return "database"
    return _driver_of(exc) or "unknown"


def _database_unavailable(exc: sqlalchemy.exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    original = exc.orig
    sqlite_code = getattr(original, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in SQLITE_UNAVAILABLE  # the primary code, without the extended bits
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate[:2] in PG_UNAVAILABLE_CLASSES
    return isinstance(exc, sqlalchemy.exc.InterfaceError)  # "connection is closed" and the like


def is_outage(exc: BaseException) -> bool:
    """A failure of a dependency (refused, dropped, timed out, locked) rather than of this request or
    of our code: those stay 500s with their traceback."""
    if isinstance(exc, STATE_STORE_ERRORS + DATABASE_ERRORS):
        return True
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        return _database_unavailable(exc)
    if isinstance(exc, TRANSPORT_ERRORS):
        return _driver_of(exc) is not None  # our own timeouts are bugs, a driver's are outages
    return False
