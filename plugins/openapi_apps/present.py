"""Records -> wire rows (spec §3.6-§3.9): never ``null`` where difyctl wants a string (§7)."""

from __future__ import annotations

import datetime
from typing import Any

from core.domain.models import AppMode
from core.domain.reads import AppRecord, WorkspaceMembershipRecord
from plugins.openapi_apps.input_schema import empty_schema, input_schema
from plugins.openapi_apps.parameters import app_parameters, configured_form
from plugins.openapi_apps.schemas import (
    AppDescription,
    AppInfo,
    AppListRow,
    TagName,
    WorkspaceDetail,
    WorkspaceRow,
)

# Modes for which difyctl must stream a run (upstream's rule; the CLI also forces it for agent-chat).
AGENT_MODES = frozenset({AppMode.AGENT_CHAT.value, AppMode.ADVANCED_CHAT.value})


def naive_iso(value: datetime.datetime | None) -> str | None:
    """Dify's app and workspace timestamps: UTC without a zone suffix (``2026-01-02T00:00:00``)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat()


def workspace_row(record: WorkspaceMembershipRecord) -> WorkspaceRow:
    return WorkspaceRow(
        id=str(record.id),
        name=record.name,
        role=record.role,
        status=record.status,
        current=bool(record.current),
    )


def workspace_detail(record: WorkspaceMembershipRecord) -> WorkspaceDetail:
    return WorkspaceDetail(
        id=str(record.id),
        name=record.name,
        role=record.role,
        status=record.status,
        current=bool(record.current),
        created_at=naive_iso(record.created_at) or "",
    )


def _tags(record: AppRecord) -> list[TagName]:
    return [TagName(name) for name in record.tags]


def app_list_row(record: AppRecord) -> AppListRow:
    return AppListRow(
        id=str(record.id),
        name=record.name,
        description=record.description,
        mode=record.mode,
        tags=_tags(record),
        updated_at=naive_iso(record.updated_at),
        created_by_name=record.creator_name,
        workspace_id=str(record.tenant_id),
        workspace_name=record.workspace_name,
    )


def app_info(record: AppRecord) -> AppInfo:
    return AppInfo(
        id=str(record.id),
        name=record.name,
        description=record.description,
        mode=record.mode,
        author=record.creator_name or "",
        tags=_tags(record),
        updated_at=naive_iso(record.updated_at),
        service_api_enabled=record.enable_api,
        is_agent=record.mode in AGENT_MODES,
    )


def app_description(
    record: AppRecord, fields: frozenset[str], system_parameters: dict[str, int]
) -> AppDescription:
    """Only the requested blocks are computed; the others are ``null``."""
    parameters: dict[str, Any] | None = None
    schema: dict[str, Any] | None = None
    if "parameters" in fields:
        parameters = app_parameters(record.mode, record.config, system_parameters)
    if "input_schema" in fields:
        form = configured_form(record.mode, record.config)
        schema = empty_schema() if form is None else input_schema(record.mode, form)
    return AppDescription(
        info=app_info(record) if "info" in fields else None, parameters=parameters, input_schema=schema
    )
