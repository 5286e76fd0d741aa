"""``difyd workspaces``: create workspaces and list them (their people: ``core.admin.members``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.reads import oldest_first
from core.admin.runner import run_with_host
from core.domain.models import Workspace

if TYPE_CHECKING:
    from core.context import HostContext


@click.group()
def workspaces() -> None:
    """Workspaces (Dify tenants)."""


@workspaces.command("create")
@click.option("--name", required=True, help="Workspace name (unique unless --allow-duplicate-name).")
@click.option(
    "--allow-duplicate-name", is_flag=True, help="Create it even if another workspace has this name."
)
def workspaces_create(name: str, allow_duplicate_name: bool) -> None:
    """Create a workspace; add people with `difyd members add`."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.create_workspace(
                session, name, allow_duplicate_name=allow_duplicate_name
            )
            return str(workspace.id)

    click.echo(f"created workspace {run_with_host(work)} {name.strip()!r}")


@workspaces.command("list")
def workspaces_list() -> None:
    """Every workspace: id, name, status."""
    for workspace in run_with_host(lambda ctx: oldest_first(ctx, Workspace)):
        click.echo(f"{workspace.id}  {workspace.name!r}  {workspace.status}")
