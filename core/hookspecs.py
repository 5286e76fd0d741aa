"""Every hook the core asks plugins, one line each; docs/hooks.md documents them with examples.

tests/test_hooks_meta.py keeps both true: each hookspec has a docs section and a ``test_hook_<name>``.

Hooks return data; the core composes it. A hook may return a value, a callable or an awaitable
(see ``core.plugins.await_me_maybe``): pluggy itself is synchronous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from core.context import HostContext

PROJECT = "difyd"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def plugin_settings() -> Any:
    """Return the msgspec Struct type that validates this plugin's ``[plugin.<name>]`` config section."""


@hookspec
def requires_core() -> Any:
    """Return a PEP 440 specifier of the core versions this plugin supports, e.g. ``">=0.1,<1"``."""


@hookspec
def route_handlers(ctx: HostContext) -> Any:
    """Return a list of Litestar route handlers, controllers or routers to mount."""


@hookspec
def migration_locations() -> Any:
    """Return alembic version folders; each plugin's migrations form their own branch."""


@hookspec
def jobs(ctx: HostContext) -> Any:
    """Return job functions ``async def job(ctx: dict, **kwargs)`` for saq or the in-process runner."""


@hookspec
def cron_jobs(ctx: HostContext) -> Any:
    """Return a list of ``core.jobs.CronJob`` schedules for job functions."""


@hookspec
def cli_commands() -> Any:
    """Return a list of click commands or groups added to the ``difyd`` command line."""


@hookspec
def bearer_authenticators(ctx: HostContext) -> Any:
    """Return the ``core.auth.BearerAuthenticator`` objects of this plugin, one per token prefix."""


@hookspec(firstresult=True)
def license_status(ctx: HostContext) -> Any:
    """Return the ``core.license.LicenseStatus``: active, expiring, expired, inactive, lost or none."""


@hookspec
def system_features(ctx: HostContext) -> Any:
    """Return a dict merged into ``GET /console/api/system-features`` (what the console may show)."""


@hookspec(firstresult=True)
def device_approvals(ctx: HostContext) -> Any:
    """Return the ``core.services.DeviceApprovals`` service (look up and approve pending device codes)."""


@hookspec(firstresult=True)
def external_sign_in(ctx: HostContext) -> Any:
    """Return the ``core.services.ExternalSignIn`` the /device page offers people without an account."""


@hookspec
def header_policies(ctx: HostContext) -> Any:
    """Return ``core.http.headers.HeaderPolicy`` objects: the response headers of the paths it owns."""


@hookspec
def audit_event(ctx: HostContext, event: Any) -> Any:
    """Receive a ``core.audit.AuditEvent`` (approve, deny, mint, revoke, expire, rejected ...)."""


@hookspec
def startup(ctx: HostContext) -> Any:
    """Run when the application starts (may return an awaitable)."""


@hookspec
def shutdown(ctx: HostContext) -> Any:
    """Run when the application stops (may return an awaitable)."""


@hookspec
def next_steps(ctx: HostContext) -> Any:
    """Return command lines a person can try next against this server (``difyd demo`` prints them)."""


@hookspec
def demo_data(ctx: HostContext, seed: Any) -> Any:
    """Add this plugin's demo rows after the core demo data is seeded (``seed`` names what exists)."""
