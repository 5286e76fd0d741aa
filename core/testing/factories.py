"""Test data through the same domain services the admin CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.context import HostContext
from core.domain import services
from core.domain.models import Account, App, Workspace

PASSWORD = "correct horse battery staple"


@dataclass
class Person:
    account: Account
    password: str = PASSWORD

    @property
    def email(self) -> str:
        return self.account.email

    @property
    def id(self) -> str:
        return str(self.account.id)


async def person(
    host: HostContext, email: str = "alice@example.com", name: str = "Alice", **kw: Any
) -> Person:
    async with host.session() as session:
        account = await services.create_account(session, email, name, kw.pop("password", PASSWORD), **kw)
    return Person(account)


async def workspace(host: HostContext, name: str = "Acme", *members: tuple[Person, str]) -> Workspace:
    async with host.session() as session:
        # Test data may repeat a name (two "Acme"s in one test); the admin command refuses that.
        ws = await services.create_workspace(session, name, allow_duplicate_name=True)
        for member, role in members:
            await services.add_member(session, ws.id, member.account.id, role)
    return ws


async def app(host: HostContext, ws: Workspace, name: str, mode: str = "chat", **kw: Any) -> App:
    async with host.session() as session:
        return await services.create_app(session, ws.id, name, mode, **kw)


async def member(host: HostContext, ws: Workspace, who: Person, role: str = "normal") -> None:
    """Add ``who`` to ``ws`` with ``role`` (owner, admin, editor, normal)."""
    async with host.session() as session:
        await services.add_member(session, ws.id, who.account.id, role)
