"""Declarative bases shared by core and plugin models (one metadata, so alembic sees every table)."""

from __future__ import annotations

import datetime

from advanced_alchemy.base import UUIDv7AuditBase, UUIDv7Base, orm_registry

__all__ = ["UUIDv7AuditBase", "UUIDv7Base", "metadata", "utcnow"]

metadata = orm_registry.metadata


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
