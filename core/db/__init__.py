"""Persistence: advanced-alchemy on SQLite (embedded) or PostgreSQL (production), alembic migrations."""
