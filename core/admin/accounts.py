"""``difyd accounts``: create console accounts, set their passwords, list them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.output import emit
from core.admin.passwords import choose_password
from core.admin.reads import existing_account, oldest_first
from core.admin.runner import run_with_host
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
    """Set (or reset) an account's password."""
    from core.domain import services

    chosen = choose_password(password, generate_password)

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            await services.set_password(session, await existing_account(session, email), chosen.secret)

    run_with_host(work)
    click.echo(f"password set for <{email.strip()}>")
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

    run_with_host(work)
    click.echo(f"<{email.strip()}> is now {status}")
