"""A failing statement's error names the statement, never its parameters (an email, a name): error
messages end up in logs."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


async def test_statement_errors_do_not_carry_parameters(host):
    """On both databases, the message of a failed statement omits the bound values."""
    secret = "very-private-person@example.com"
    async with host.engine.connect() as conn:
        with pytest.raises(DBAPIError) as raised:
            await conn.execute(text("SELECT CAST(:value AS INTEGER) + no_such_column"), {"value": secret})
    message = str(raised.value)
    assert "no_such_column" in message  # the statement is still there to debug with
    assert secret not in message
    assert "hidden due to hide_parameters" in message
