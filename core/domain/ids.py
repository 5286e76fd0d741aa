"""Ids as they arrive from outside (a path, a query, a token payload, a cookie claim)."""

from __future__ import annotations

import uuid


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID ``value`` spells, or None when it spells none (an answer for a client, not an error)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
