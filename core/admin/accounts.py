"""``difyd accounts``: create, show and list console accounts; passwords, names, status, sessions.

Changes that decide who may sign in (status, password, ended sessions) are audited.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import click

from core.admin.output import emit, emit_one
from core.admin.passwords import choose_password
from core.admin.reads import existing_account, oldest_first
from core.admin.runner import run_with_host
from core.audit import AuditEvent
from core.domain.models import Account, AccountStatus

if TYPE_CHECKING:
    from core.context import HostContext

ACCOUNT_STATUSES = [status.value for status in AccountStatus]


@click.group()
def accounts() -> None:
    """Console accounts (people who sign in)."""


@accounts.command("create")
@click.option("--email", required=True, help="Sign-in email (unique, case-insensitive).")
@click.option("--name", required=True, help="Display name.")
@click.option("--password", default=None, help="Password (prompted for unless --generate-password).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@click.option("--status", type=click.Choice(ACCOUNT_STATUSES), default="active", show_default=True)
def accounts_create(
    email: str, name: str, password: str | None, generate_password: bool, status: str
) -> None:
    """Create an account."""
    from core.domain import services

    chosen = choose_password(password, generate_password)

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            account = await services.create_account(session, email, name, chosen.secret, status=status)
            return str(account.id)

    account_id = run_with_host(work)
    click.echo(f"created account {account_id} <{email.strip()}>")
    chosen.echo_if_generated()


@accounts.command("set-password")
@click.option("--email", required=True, help="The account's email.")
@click.option("--password", default=None, help="New password (prompted for unless --generate-password).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
def accounts_set_password(email: str, password: str | None, generate_password: bool) -> None:
    """Set (or reset) an account's password. Its console sessions end (signed in with the old one)."""
    from core.domain import services

    chosen = choose_password(password, generate_password)

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            account = await existing_account(session, email)
            await services.set_password(session, account, chosen.secret)
            account_id = str(account.id)
        await ctx.audit(AuditEvent("account.password_set", {"account_id": account_id, "by": "admin"}))

    run_with_host(work)
    click.echo(f"password set for <{email.strip()}>; its console sessions have ended")
    chosen.echo_if_generated()


@accounts.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def accounts_list(as_json: bool) -> None:
    """Every account: id, email, name, status."""
    found = run_with_host(lambda ctx: oldest_first(ctx, Account))
    rows = [{"id": str(a.id), "email": a.email, "name": a.name, "status": a.status} for a in found]
    emit(rows, as_json, lambda a: f"{a['id']}  {a['email']}  {a['name']!r}  {a['status']}")


@accounts.command("rename")
@click.option("--email", required=True, help="The account's email.")
@click.option("--name", required=True, help="The new display name.")
def accounts_rename(email: str, name: str) -> None:
    """Change an account's display name."""
    from core.domain import services

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            await services.rename_account(session, await existing_account(session, email), name)

    run_with_host(work)
    click.echo(f"<{email.strip()}> is now {name.strip()!r}")


@accounts.command("set-status")
@click.option("--email", required=True, help="The account's email.")
@click.option("--status", type=click.Choice(ACCOUNT_STATUSES), required=True)
def accounts_set_status(email: str, status: str) -> None:
    """Ban, close or reactivate an account: a banned or closed account's tokens stop working at once and
    its console sessions end (what to do when a laptop is stolen or someone leaves)."""
    from core.domain import services

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            account = await existing_account(session, email)
            await services.set_account_status(session, account, status)
            account_id = str(account.id)
        await ctx.audit(
            AuditEvent("account.status_changed", {"account_id": account_id, "status": status, "by": "admin"})
        )

    run_with_host(work)
    click.echo(f"<{email.strip()}> is now {status}")


@accounts.command("end-sessions")
@click.option("--email", required=True, help="The account's email.")
def accounts_end_sessions(email: str) -> None:
    """Sign the account out of every browser (console sessions); it may sign in again. Its device
    tokens are separate: `difyd tokens revoke --email E --all`."""
    from core.domain import services

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            account = await existing_account(session, email)
            await services.end_console_sessions(session, account)
            account_id = str(account.id)
        await ctx.audit(AuditEvent("account.sessions_ended", {"account_id": account_id, "by": "admin"}))

    run_with_host(work)
    click.echo(f"console sessions of <{email.strip()}> have ended")


@accounts.command("show")
@click.option("--email", required=True, help="The account's email.")
def accounts_show(email: str) -> None:
    """One account as JSON: status, when its sessions were last ended, its workspaces and roles."""
    from core.domain import services

    async def work(ctx: HostContext) -> dict[str, object]:
        async with ctx.session() as session:
            account = await existing_account(session, email)
            return {
                "id": str(account.id),
                "email": account.email,
                "name": account.name,
                "status": account.status,
                "created_at": account.created_at.isoformat(),
                "has_password": account.password_hash is not None,
                "sessions_revoked_at": _iso(account.sessions_revoked_at),
                "workspaces": await services.workspaces_with_roles(session, account.id),
            }

    emit_one(run_with_host(work))


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None
