"""The reads several admin commands share: an account named by email that must exist, and a whole
table listed oldest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from core.db.base import UUIDv7AuditBase

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from core.context import HostContext
    from core.domain.models import Account

Row = TypeVar("Row", bound=UUIDv7AuditBase)


async def existing_account(session: AsyncSession, email: str) -> Account:
    """The account with this email; a DomainError (a one-line refusal) when there is none."""
    from core.domain import services

    account = await services.account_by_email(session, email)
    if account is None:
        raise services.DomainError(f"no account with email {email.strip()!r}")
    return account


async def oldest_first(ctx: HostContext, model: type[Row]) -> list[Row]:
    """Every row of ``model``'s table, in the order they were created."""
    from sqlalchemy import select

    async with ctx.session() as session:
        return list((await session.execute(select(model).order_by(model.created_at))).scalars())
