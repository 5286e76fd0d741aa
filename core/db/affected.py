"""How many rows a write touched, for the compare-and-set style writes that decide on it."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def affected(result: Result[Any]) -> int:
    """The row count of an UPDATE or DELETE (``Session.execute`` types it as a plain ``Result``)."""
    return cast(CursorResult[Any], result).rowcount
