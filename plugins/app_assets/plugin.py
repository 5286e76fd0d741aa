"""The app_assets plugin's hook implementations: per-app file trees (see README.md).

- routes: ``/console/api/apps/{app_id}/assets/…`` (routes.py) and the local storage's signed transfer
  URLs ``/files/app-assets/{upload,download}`` (transfer.py);
- settings ``[plugin.app_assets]``; its tables and migration branch ``app_assets``;
- jobs ``app_assets.delete_objects`` (every 5 minutes, and after each delete) and ``app_assets.sweep``;
- commands ``difyd assets tree`` and ``difyd assets sweep``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from core.api import CronJob, HeaderPolicy, HostContext, hookimpl
from plugins.app_assets.settings import AppAssetsSettings

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"


@hookimpl
def plugin_settings() -> type[AppAssetsSettings]:
    return AppAssetsSettings


@hookimpl
def route_handlers(ctx: HostContext) -> list[Any]:
    from plugins.app_assets.routes import AssetsController
    from plugins.app_assets.transfer import transfer_handlers

    return [AssetsController, *transfer_handlers()]


@hookimpl
def header_policies(ctx: HostContext) -> list[HeaderPolicy]:
    from plugins.app_assets.transfer import header_policies as policies

    return policies()


@hookimpl
def migration_locations() -> list[Path]:
    return [MIGRATIONS]


@hookimpl
def jobs(ctx: HostContext) -> list[Any]:
    from plugins.app_assets.jobs import delete_objects, sweep

    return [delete_objects, sweep]


@hookimpl
def cron_jobs(ctx: HostContext) -> list[CronJob]:
    from plugins.app_assets.jobs import delete_objects, sweep

    settings: AppAssetsSettings = ctx.plugin_settings("app_assets")
    return [CronJob(delete_objects, "*/5 * * * *"), CronJob(sweep, settings.sweep_cron)]


@hookimpl
def cli_commands() -> list[click.Command]:
    from plugins.app_assets.commands import assets

    return [assets]
