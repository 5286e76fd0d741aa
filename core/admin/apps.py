"""``difyd apps``: create an app from options, from a file (``core.admin.app_file``), or both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from core.admin.app_file import MODES, app_from_options, read_mapping
from core.admin.output import emit, emit_one
from core.admin.reads import existing_account
from core.admin.runner import run_with_host

if TYPE_CHECKING:
    from core.context import HostContext


@click.group()
def apps() -> None:
    """Apps in a workspace."""


@apps.command("create")
@click.option("--from-file", "from_file", default=None, help="YAML/JSON: name, mode, tags, config ...")
@click.option("--workspace", default=None, help="Workspace id or name.")
@click.option("--name", default=None, help="App name.")
@click.option("--mode", default=None, help=f"One of: {', '.join(MODES)}.")
@click.option("--description", default=None)
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable), created on first use.")
@click.option("--icon", default=None, help="An emoji.")
@click.option("--created-by", default=None, help="The author's account email.")
@click.option("--api/--no-api", "enable_api", default=None, help="Enable the app's API (default: on).")
@click.option("--config-file", default=None, help="YAML/JSON app config (model config or workflow).")
def apps_create(from_file: str | None, config_file: str | None, **options: Any) -> None:
    """Create an app from options, from a file, or from a file with options overriding it."""
    from core.domain import services

    if config_file:
        options["config"] = read_mapping(config_file, "config file")
    spec = app_from_options(from_file, **options)
    workspace_ref = spec.workspace or ""

    async def work(ctx: HostContext) -> tuple[str, str]:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            author = await existing_account(session, spec.created_by) if spec.created_by else None
            app = await services.create_app(
                session,
                workspace.id,
                spec.name,
                spec.mode,
                description=spec.description,
                created_by=author.id if author else None,
                enable_api=spec.enable_api,
                icon=spec.icon,
                config=spec.config,
                tags=spec.tags,
            )
            return str(app.id), workspace.name

    app_id, workspace_name = run_with_host(work)
    api = "" if spec.enable_api else ", API disabled"
    click.echo(f"created app {app_id} {spec.name!r} ({spec.mode}{api}) in {workspace_name!r}")


@apps.command("list")
@click.option("--workspace", "workspace_ref", default=None, help="Only this workspace (id or name).")
@click.option("--mode", default=None, type=click.Choice(MODES), help="Only apps of this mode.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def apps_list(workspace_ref: str | None, mode: str | None, as_json: bool) -> None:
    """Every live app (or a workspace's): id, name, mode, whether its API is on, workspace."""
    from sqlalchemy import select

    from core.domain import services
    from core.domain.models import App, AppStatus, Workspace

    async def work(ctx: HostContext) -> list[dict[str, Any]]:
        async with ctx.session() as session:
            query = (
                select(App.id, App.name, App.mode, App.enable_api, Workspace.name)
                .join(Workspace, Workspace.id == App.tenant_id)
                .where(App.status == AppStatus.NORMAL.value)
                .order_by(App.created_at)
            )
            if workspace_ref:
                workspace = await services.workspace_by_ref(session, workspace_ref)
                query = query.where(App.tenant_id == workspace.id)
            if mode:
                query = query.where(App.mode == mode)
            rows = (await session.execute(query)).all()
        return [
            {"id": str(i), "name": n, "mode": m, "api": bool(api), "workspace": w} for i, n, m, api, w in rows
        ]

    emit(
        run_with_host(work),
        as_json,
        lambda app: f"{app['id']}  {app['name']!r}  {app['mode']}  "
        f"{'api on' if app['api'] else 'api off'}  in {app['workspace']!r}",
    )


@apps.command("update")
@click.option("--app", "app_ref", required=True, help="The app's id.")
@click.option("--name", default=None, help="A new name.")
@click.option("--description", default=None, help="A new description.")
@click.option(
    "--enable-api/--disable-api", "enable_api", default=None, help="Switch the app's API on or off."
)
@click.option("--tag", "add_tags", multiple=True, help="Add a tag (repeatable; created on first use).")
@click.option("--untag", "remove_tags", multiple=True, help="Remove a tag (repeatable).")
@click.option("--config-file", default=None, help="Replace the app's config with this YAML/JSON file.")
def apps_update(
    app_ref: str,
    name: str | None,
    description: str | None,
    enable_api: bool | None,
    add_tags: tuple[str, ...],
    remove_tags: tuple[str, ...],
    config_file: str | None,
) -> None:
    """Change an app's name, description, tags, config or API switch (what `difyctl` may reach)."""
    from core.domain import services

    config = read_mapping(config_file, "config file") if config_file else None
    if (name, description, enable_api, config) == (None, None, None, None) and not (add_tags or remove_tags):
        raise click.UsageError(
            "nothing to change: give --name, --description, --tag, --untag, --config-file, "
            "--enable-api or --disable-api"
        )

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            app = await services.app_by_id(session, app_ref)
            await services.update_app(
                session,
                app,
                name=name,
                description=description,
                enable_api=enable_api,
                config=config,
                add_tags=add_tags,
                remove_tags=remove_tags,
            )
            api = "api on" if app.enable_api else "api off"
            return f"updated app {app.id} {app.name!r} ({api})"

    click.echo(run_with_host(work))


@apps.command("delete")
@click.option("--app", "app_ref", required=True, help="The app's id.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def apps_delete(app_ref: str, yes: bool) -> None:
    """Delete an app and its tag bindings. Cannot be undone."""
    from core.domain import services

    if not yes:
        click.confirm(f"Delete app {app_ref!r} for good?", abort=True)

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            app = await services.app_by_id(session, app_ref)
            name = app.name
            await services.delete_app(session, app)
            return name

    click.echo(f"deleted app {app_ref.strip()} {run_with_host(work)!r}")


@apps.command("show")
@click.option("--app", "app_ref", required=True, help="The app's id.")
def apps_show(app_ref: str) -> None:
    """Everything about one app, as JSON: workspace, mode, API switch, tags and configuration."""

    from core.domain import services
    from core.domain.models import Workspace

    async def work(ctx: HostContext) -> dict[str, Any]:
        async with ctx.session() as session:
            app = await services.app_by_id(session, app_ref)
            workspace = await session.get(Workspace, app.tenant_id)
            tags = await services.app_tag_names(session, app)
            return {
                "id": str(app.id),
                "name": app.name,
                "mode": app.mode,
                "description": app.description,
                "api": app.enable_api,
                "workspace": {"id": str(app.tenant_id), "name": workspace.name if workspace else None},
                "tags": tags,
                "created_at": app.created_at.isoformat(),
                "updated_at": app.updated_at.isoformat(),
                "config": app.config,
            }

    emit_one(run_with_host(work))
