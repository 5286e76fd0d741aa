"""``difyd apps``: create an app from options, from a file (``core.admin.app_file``), or both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from core.admin.app_file import MODES, app_from_options, read_mapping
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
