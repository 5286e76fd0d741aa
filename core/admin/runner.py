"""How an admin command runs its work: on a HostContext built from the command line's settings, with
every refusal and every unreachable database turned into a one-line error (exit status 1), never a
traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from core.context import HostContext
    from core.settings import Settings

T = TypeVar("T")
# Connection failures surface as the driver's own exceptions, not SQLAlchemy's.
DRIVER_MODULES = frozenset({"asyncpg", "aiosqlite", "sqlite3", "redis"})


def command_settings() -> Settings:
    """The running command's settings, as the root group read them (``--config`` / ``DIFYD_CONFIG``)."""
    from core.cli import cli_state

    return cli_state(click.get_current_context()).settings


def run_with_host(work: Callable[[HostContext], Awaitable[T]]) -> T:
    """Build a HostContext from the command line's settings, run ``work`` on it, release it."""
    from core.cli import cli_state, host_context
    from core.domain.services import DomainError

    ctx = host_context(cli_state(click.get_current_context()))

    async def main() -> T:
        try:
            return await work(ctx)
        finally:
            await ctx.state.close()
            await ctx.engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        unreachable = _database_error(exc)
        if unreachable is None:
            raise
        raise unreachable from exc


def _database_error(exc: Exception) -> click.ClickException | None:
    """The one-line error for a database (or state store) that failed; None for any other exception."""
    from sqlalchemy.exc import SQLAlchemyError

    driver = type(exc).__module__.split(".")[0] in DRIVER_MODULES
    if not (isinstance(exc, SQLAlchemyError | OSError) or driver):
        return None
    reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
    return click.ClickException(
        f"database error: {reason} (is the database reachable and migrated? `difyd database upgrade`)"
    )
