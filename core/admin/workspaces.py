"""``difyd workspaces``: create workspaces and list them (their people: ``core.admin.members``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.output import emit
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
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def workspaces_list(as_json: bool) -> None:
    """Every workspace: id, name, status."""
    found = run_with_host(lambda ctx: oldest_first(ctx, Workspace))
    rows = [{"id": str(w.id), "name": w.name, "status": w.status} for w in found]
    emit(rows, as_json, lambda w: f"{w['id']}  {w['name']!r}  {w['status']}")


@workspaces.command("rename")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
@click.option("--name", required=True, help="The new name (unique).")
def workspaces_rename(workspace_ref: str, name: str) -> None:
    """Give a workspace a new name."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            old = workspace.name
            await services.rename_workspace(session, workspace, name)
            return old

    old = run_with_host(work)
    click.echo(f"renamed workspace {old!r} to {name.strip()!r}")


@workspaces.command("delete")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
@click.option("--with-apps", is_flag=True, help="Delete its apps too (refused otherwise while it has some).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def workspaces_delete(workspace_ref: str, with_apps: bool, yes: bool) -> None:
    """Delete a workspace, its memberships and tags (and, with --with-apps, its apps). Cannot be undone."""
    from core.domain import services

    if not yes:
        click.confirm(f"Delete workspace {workspace_ref!r} for good?", abort=True)

    async def work(ctx: HostContext) -> tuple[str, int]:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            apps = await services.delete_workspace(session, workspace, with_apps=with_apps)
            return workspace.name, apps

    name, apps = run_with_host(work)
    click.echo(f"deleted workspace {name!r}" + (f" and its {apps} app(s)" if apps else ""))
