"""A database session for one request, as a Litestar dependency.

``dependencies={"session": Provide(request_session)}`` on a route, controller or router, and a
``session: RequestSession`` argument, hand the handler an ``AsyncSession``: committed when the
handler returns, rolled back when it raises (Litestar throws the handler's exception into the
dependency's generator). Hot single-statement reads may use
``ctx.reads`` (autocommit) instead, as the built-in plugins do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

# The handler argument's type: marks it as the injected dependency (Litestar warns about inferred ones).
RequestSession = NamedDependency[AsyncSession]


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.host.session() as session:
        yield session
