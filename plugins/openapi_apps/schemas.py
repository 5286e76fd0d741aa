"""Wire shapes of this surface (spec openapi_apps §3.6-§3.9, constrained by what difyctl parses, §7).

Nullable fields are sent as ``null`` (never omitted); fields the CLI refuses as null are plain ``str``.
"""

from __future__ import annotations

from typing import Any

import msgspec


class WorkspaceRow(msgspec.Struct):
    id: str
    name: str
    role: str
    status: str
    current: bool


class WorkspaceList(msgspec.Struct):
    workspaces: list[WorkspaceRow]


class WorkspaceDetail(msgspec.Struct):
    id: str
    name: str
    role: str
    status: str
    current: bool
    created_at: str


class TagName(msgspec.Struct):
    name: str


class AppListRow(msgspec.Struct):
    id: str
    name: str
    description: str
    mode: str
    tags: list[TagName]
    updated_at: str | None
    created_by_name: str | None
    workspace_id: str
    workspace_name: str | None


class AppInfo(msgspec.Struct):
    id: str
    name: str
    description: str
    mode: str
    author: str
    tags: list[TagName]
    updated_at: str | None
    service_api_enabled: bool
    is_agent: bool


class AppDescription(msgspec.Struct):
    """All three keys are always present; a block that was not asked for is ``null``."""

    info: AppInfo | None
    parameters: dict[str, Any] | None
    input_schema: dict[str, Any] | None
