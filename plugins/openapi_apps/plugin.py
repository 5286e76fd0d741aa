"""The openapi_apps plugin's hook implementations: the ``/openapi/v1`` read surface for difyctl.

- routes: ``GET /openapi/v1/workspaces[/{id}]``, ``GET /openapi/v1/apps``,
  ``GET /openapi/v1/apps/{id}/describe`` and ``GET /openapi/v1/apps/{id}`` (see README.md);
- settings: the upload limits echoed in ``parameters.system_parameters``;
- migrations: indexes for the list and the name lookup (branch ``openapi_apps``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.context import HostContext
from core.hookspecs import hookimpl
from plugins.openapi_apps.settings import OpenApiAppsSettings

__version__ = "0.1.0"

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"


@hookimpl
def plugin_settings() -> type[OpenApiAppsSettings]:
    return OpenApiAppsSettings


@hookimpl
def route_handlers(ctx: HostContext) -> list[Any]:
    # Imported here so that reading settings or migrations does not load the HTTP layer.
    from plugins.openapi_apps.apps import AppsController
    from plugins.openapi_apps.workspaces import WorkspacesController

    return [WorkspacesController, AppsController]


@hookimpl
def migration_locations() -> list[Path]:
    return [MIGRATIONS]


@hookimpl
def next_steps(ctx: HostContext) -> list[str]:
    """What to try once difyctl is signed in."""
    return ["difyctl get workspace", "difyctl get app", "difyctl describe app <app id>"]
