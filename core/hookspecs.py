"""Every hook the core asks plugins, one line each; docs/hooks.md documents them with examples.

tests/test_hooks_meta.py keeps both true: each hookspec has a docs section and a ``test_hook_<name>``.

Hooks return data; the core composes it. A hook may return a value, a callable or an awaitable
(see ``core.plugins.await_me_maybe``): pluggy itself is synchronous.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import pluggy

if TYPE_CHECKING:
    import click
    import msgspec
    from litestar.types import ControllerRouterHandler

    from core.audit import AuditEvent
    from core.auth.bearer import BearerAuthenticator
    from core.context import HostContext
    from core.http.headers import HeaderPolicy
    from core.jobs.queue import CronJob, JobFunction
    from core.license import LicenseStatus
    from core.services import DeviceApprovals, ExternalSignIn

T = TypeVar("T")
# What the core resolves with ``core.plugins.await_me_maybe``: a value, an awaitable, or a callable
# returning either.
Eventually: TypeAlias = "T | Awaitable[T] | Callable[[], T | Awaitable[T]]"

PROJECT = "difyd"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def plugin_settings() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct type that validates this plugin's ``[plugin.<name>]`` config section."""


@hookspec
def requires_core() -> str | None:
    """Return a PEP 440 specifier of the core versions this plugin supports, e.g. ``">=0.1,<1"``."""


@hookspec
def route_handlers(ctx: HostContext) -> Sequence[ControllerRouterHandler]:
    """Return a list of Litestar route handlers, controllers or routers to mount."""


@hookspec
def migration_locations() -> Sequence[str | Path]:
    """Return alembic version folders; each plugin's migrations form their own branch."""


@hookspec
def jobs(ctx: HostContext) -> Sequence[JobFunction]:
    """Return job functions ``async def job(ctx: dict, **kwargs)`` for saq or the in-process runner."""


@hookspec
def cron_jobs(ctx: HostContext) -> Sequence[CronJob]:
    """Return a list of ``core.jobs.CronJob`` schedules for job functions."""


@hookspec
def cli_commands() -> Sequence[click.Command]:
    """Return a list of click commands or groups added to the ``difyd`` command line."""


@hookspec
def bearer_authenticators(ctx: HostContext) -> Sequence[BearerAuthenticator]:
    """Return the ``core.auth.BearerAuthenticator`` objects of this plugin, one per token prefix."""


@hookspec(firstresult=True)
def license_status(ctx: HostContext) -> Eventually[LicenseStatus | None]:
    """Return the ``core.license.LicenseStatus``: active, expiring, expired, inactive, lost or none."""


@hookspec
def system_features(ctx: HostContext) -> Eventually[dict[str, Any]]:
    """Return a dict merged into ``GET /console/api/system-features`` (what the console may show)."""


@hookspec(firstresult=True)
def device_approvals(ctx: HostContext) -> DeviceApprovals | None:
    """Return the ``core.services.DeviceApprovals`` service (look up and approve pending device codes)."""


@hookspec(firstresult=True)
def external_sign_in(ctx: HostContext) -> ExternalSignIn | None:
    """Return the ``core.services.ExternalSignIn`` the /device page offers people without an account."""


@hookspec
def header_policies(ctx: HostContext) -> Sequence[HeaderPolicy]:
    """Return ``core.http.headers.HeaderPolicy`` objects: the response headers of the paths it owns."""


@hookspec
def audit_event(ctx: HostContext, event: AuditEvent) -> Eventually[None]:
    """Receive a ``core.audit.AuditEvent`` (approve, deny, mint, revoke, expire, rejected ...)."""


@hookspec
def startup(ctx: HostContext) -> Eventually[None]:
    """Run when the application starts (may return an awaitable)."""


@hookspec
def shutdown(ctx: HostContext) -> Eventually[None]:
    """Run when the application stops (may return an awaitable)."""


@hookspec
def next_steps(ctx: HostContext) -> Sequence[str]:
    """Return command lines a person can try next against this server (``difyd demo`` prints them)."""


@hookspec
def demo_data(ctx: HostContext, seed: dict[str, Any]) -> Eventually[None]:
    """Add this plugin's demo rows after the core demo data is seeded (``seed`` names what exists)."""
