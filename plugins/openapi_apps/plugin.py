"""The openapi_apps plugin's hook implementations."""

from __future__ import annotations

from core.hookspecs import hookimpl

__version__ = "0.1.0"


@hookimpl
def requires_core() -> str:
    return ">=0.1,<1"
