"""``difyd members``: who is in a workspace, with which role; add, change, remove."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.output import emit
from core.admin.reads import existing_account
from core.admin.runner import run_with_host
from core.domain.models import MemberRole

if TYPE_CHECKING:
    from core.context import HostContext


@click.group()
def members() -> None:
    """Workspace memberships."""


@members.command("add")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
@click.option("--email", required=True, help="The account's email.")
@click.option("--role", type=click.Choice([r.value for r in MemberRole]), default="normal", show_default=True)
@click.option(
    "--current",
    is_flag=True,
    default=None,
    help="Make it the account's current workspace (its first workspace always is).",
)
def members_add(workspace_ref: str, email: str, role: str, current: bool | None) -> None:
    """Add an account to a workspace with a role."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            account = await existing_account(session, email)
            await services.add_member(session, workspace.id, account.id, role, current=current or None)
            return workspace.name

    workspace_name = run_with_host(work)
    click.echo(f"added <{email.strip()}> to {workspace_name!r} as {role}")


_workspace_option = click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")


@members.command("list")
@_workspace_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def members_list(workspace_ref: str, as_json: bool) -> None:
    """The workspace's members: email, name, role, and whether it is their current workspace."""
    from sqlalchemy import select

    from core.domain import services
    from core.domain.models import Account, Membership

    async def work(ctx: HostContext) -> list[dict[str, object]]:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            rows = await session.execute(
                select(Account.email, Account.name, Membership.role, Membership.current)
                .join(Membership, Membership.account_id == Account.id)
                .where(Membership.tenant_id == workspace.id)
                .order_by(Membership.created_at)
            )
            return [{"email": e, "name": n, "role": r, "current": bool(c)} for e, n, r, c in rows.all()]

    emit(
        run_with_host(work),
        as_json,
        lambda m: f"<{m['email']}>  {m['name']!r}  {m['role']}" + ("  (current)" if m["current"] else ""),
    )


@members.command("set-role")
@_workspace_option
@click.option("--email", required=True, help="The member's email.")
@click.option("--role", type=click.Choice([r.value for r in MemberRole]), required=True)
def members_set_role(workspace_ref: str, email: str, role: str) -> None:
    """Change a member's role; their tokens see it once the change is committed (caches are told)."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            account = await existing_account(session, email)
            await services.set_member_role(session, workspace.id, account.id, role)
            return workspace.name

    click.echo(f"<{email.strip()}> is now {role} in {run_with_host(work)!r}")


@members.command("remove")
@_workspace_option
@click.option("--email", required=True, help="The member's email.")
def members_remove(workspace_ref: str, email: str) -> None:
    """Take an account out of a workspace; its tokens stop seeing the workspace at once."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            account = await existing_account(session, email)
            await services.remove_member(session, workspace.id, account.id)
            return workspace.name

    click.echo(f"removed <{email.strip()}> from {run_with_host(work)!r}")
