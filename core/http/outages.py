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
# Raised by SQLAlchemy when the database refuses, drops a connection, runs past the command timeout
# or the pool has no connection to give in time; on SQLite, a write lock held past the busy timeout.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
)
# What a driver raises on its own before SQLAlchemy wraps it (connect-time failures, timeouts).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)


# Driver packages by the dependency they talk to, for errors raised unwrapped (a timeout, a reset).
_DRIVERS = (
    ("redis", "state_store"),
    ("asyncpg", "database"),
    ("aiosqlite", "database"),
    ("sqlalchemy", "database"),
)


def dependency_of(exc: BaseException) -> str:
    """``database`` or ``state_store``: from the error's type, else from the driver that raised it."""
    if isinstance(exc, STATE_STORE_ERRORS):
        return "state_store"
    if isinstance(exc, sqlalchemy.exc.SQLAlchemyError):
        return "database"
    traceback, module = exc.__traceback__, ""
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        traceback = traceback.tb_next
    return next((name for driver, name in _DRIVERS if module.startswith(driver)), "unknown")


def is_outage(exc: BaseException) -> bool:
    """A failure of a dependency rather than of this request or of our code."""
    if isinstance(exc, STATE_STORE_ERRORS + DATABASE_ERRORS + TRANSPORT_ERRORS):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated
