"""``difyd members``: put an account in a workspace with a role."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

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
