"""``difyd workspaces``: create, list, rename, archive and delete workspaces (their people:
``core.admin.members``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.output import emit
from core.admin.reads import oldest_first
from core.admin.runner import run_with_host
from core.audit import AuditEvent
from core.domain.models import Workspace, WorkspaceStatus

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


def _set_status(workspace_ref: str, status: str) -> str:
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            await services.set_workspace_status(session, workspace, status)
            name, workspace_id = workspace.name, str(workspace.id)
        fields = {"workspace_id": workspace_id, "status": status, "by": "admin"}
        await ctx.audit(AuditEvent("workspace.status_changed", fields))
        return name

    return run_with_host(work)


@workspaces.command("archive")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
def workspaces_archive(workspace_ref: str) -> None:
    """Archive a workspace: everything in it is kept, but its members no longer see it (not listed,
    its apps answer 404, tokens and sessions lose their role in it at once). Undo with unarchive."""
    name = _set_status(workspace_ref, WorkspaceStatus.ARCHIVE.value)
    undo = f"difyd workspaces unarchive --workspace {workspace_ref!r}"
    click.echo(f"archived workspace {name!r} (undo: {undo})")


@workspaces.command("unarchive")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
def workspaces_unarchive(workspace_ref: str) -> None:
    """Bring an archived workspace back to its members, as it was."""
    name = _set_status(workspace_ref, WorkspaceStatus.NORMAL.value)
    click.echo(f"workspace {name!r} is in use again")


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
