"""The oauth_device plugin: RFC 8628 device flow for difyctl, dfoa_/dfoe_ tokens, /account*.

Hooks: settings (``[plugin.oauth_device]``), routes, its own alembic branch, jobs and cron, the bearer
authenticators for ``dfoa_`` and ``dfoe_``, and the ``device_approvals`` service other plugins use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.context import HostContext
from core.hookspecs import hookimpl
from core.http.headers import HeaderPolicy
from plugins.oauth_device import models  # noqa: F401 - registers the table on the shared metadata
from plugins.oauth_device.approvals import DeviceApprovalService
from plugins.oauth_device.authenticator import VARIANTS, AccessTokenAuthenticator
from plugins.oauth_device.jobs import JOBS, cron_schedules
from plugins.oauth_device.page import routes as page
from plugins.oauth_device.routes.account import AccountController
from plugins.oauth_device.routes.device import DeviceController
from plugins.oauth_device.routes.discovery import authorization_server_metadata, revoke_token
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.settings import OAuthDeviceSettings

__version__ = "0.1.0"
MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"


@hookimpl
def plugin_settings() -> type[OAuthDeviceSettings]:
    return OAuthDeviceSettings


@hookimpl
def route_handlers(ctx: HostContext) -> list[Any]:
    return [
        DeviceController,
        AccountController,
        revoke_token,
        authorization_server_metadata,
        *page.page_route_handlers(),
    ]


@hookimpl
def header_policies(ctx: HostContext) -> list[HeaderPolicy]:
    return page.header_policies()


@hookimpl
def migration_locations() -> list[Path]:
    return [MIGRATIONS]


@hookimpl
def jobs(ctx: HostContext) -> list[Any]:
    return list(JOBS)


@hookimpl
def cron_jobs(ctx: HostContext) -> list[Any]:
    return cron_schedules(runtime_of(ctx).settings.clean_task_enabled)


@hookimpl
def bearer_authenticators(ctx: HostContext) -> list[AccessTokenAuthenticator]:
    return [AccessTokenAuthenticator(ctx, variant) for variant in VARIANTS.values()]


@hookimpl
def device_approvals(ctx: HostContext) -> DeviceApprovalService:
    return DeviceApprovalService(runtime_of(ctx))


@hookimpl(tryfirst=True)  # signing in comes before anything the other plugins suggest
def next_steps(ctx: HostContext) -> list[str]:
    url = ctx.settings.public_api_url
    insecure = " --insecure" if url.startswith("http://") else ""
    return [f"difyctl auth login --host {url}{insecure}"]


@hookimpl
def cli_commands() -> list[Any]:
    from plugins.oauth_device.commands import tokens

    return [tokens]
