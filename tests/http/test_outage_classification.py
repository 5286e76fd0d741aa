"""Which errors are a dependency's outage (503) and which are bugs that must stay visible (500)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text

from core.http.outages import dependency_of, is_outage


async def _error_of(host, statement: str) -> BaseException:
    with pytest.raises(Exception) as raised:
        async with host.engine.connect() as conn:
            await conn.execute(text(statement))
    return raised.value


async def test_statement_errors_are_not_outages(host):
    """A missing table or a syntax error, on either database, is our bug: not an outage."""
    for statement in ("SELECT * FROM no_such_table", "SELEC 1"):
        error = await _error_of(host, statement)
        assert not is_outage(error), (statement, repr(error))
        assert dependency_of(error) == "database"


async def test_our_own_timeouts_are_not_outages():
    """A timeout raised by our code, not by a driver, is a bug, not a dependency's outage."""
    with pytest.raises(TimeoutError) as raised:
        await asyncio.wait_for(asyncio.sleep(1), 0.01)
    assert not is_outage(raised.value)
    assert dependency_of(raised.value) == "unknown"


async def test_a_locked_sqlite_file_is_an_outage(backend, host):
    """SQLite busy past its timeout (another process holds the write lock) is an outage."""
    if backend != "sqlite":
        pytest.skip("SQLite's own lock")
    holder = sqlite3.connect(host.engine.url.database, timeout=0.1, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        error = await _error_of(host, "CREATE TABLE locked_probe (x INTEGER)")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert is_outage(error), repr(error)
