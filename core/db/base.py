"""Declarative bases shared by core and plugin models (one metadata, so alembic sees every table)."""

from __future__ import annotations

from advanced_alchemy.base import UUIDv7AuditBase, UUIDv7Base, orm_registry

__all__ = ["UUIDv7AuditBase", "UUIDv7Base", "metadata"]

metadata = orm_registry.metadata
