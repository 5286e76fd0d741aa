"""The SQL behind this surface; every function is one statement (no N+1).

Tag names come back as one JSON array per app from a correlated aggregate (``json_agg`` on PostgreSQL,
``json_group_array`` on SQLite), creator and workspace names from joins in the same statement.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, ColumnElement, Select, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.models import Account, AccountStatus, App, AppStatus, Membership, Tag, TagBinding, Workspace
from plugins.openapi_apps.query import MODES, AppListQuery

# What makes an app visible in lists. Literal SQL (not bound parameters) on purpose: it is the exact
# predicate of the partial index ix_apps_openapi_listable, which the planners of SQLite and PostgreSQL
# can only prove usable against literals.
LISTABLE = text("apps.status = 'normal' AND apps.enable_api AND NOT apps.is_universal")
NAME_FILTER_PREFIX = 30  # characters of ``name`` that take part in the substring match


@dataclass(frozen=True, slots=True)
class WorkspaceMembershipRecord:
    id: uuid.UUID
    name: str
    status: str
    created_at: datetime.datetime
    role: str
    current: bool


@dataclass(frozen=True, slots=True)
class AppRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    description: str
    mode: str
    enable_api: bool
    updated_at: datetime.datetime | None
    creator_name: str | None = None
    workspace_name: str | None = None
    tags: tuple[str, ...] = ()
    config: Any = None


# -- workspaces ---------------------------------------------------------------------------------------


def _memberships_of(account_id: uuid.UUID) -> Select[Any]:
    return (
        select(
            Workspace.id,
            Workspace.name,
            Workspace.status,
            Workspace.created_at,
            Membership.role,
            Membership.current,
        )
        .join(Membership, Membership.tenant_id == Workspace.id)
        .join(Account, Account.id == Membership.account_id)
        .where(Membership.account_id == account_id, Account.status == AccountStatus.ACTIVE.value)
    )


async def workspaces_of(session: AsyncSession, account_id: uuid.UUID) -> list[WorkspaceMembershipRecord]:
    """Every workspace the account belongs to, oldest workspace first."""
    rows = await session.execute(_memberships_of(account_id).order_by(Workspace.created_at, Workspace.id))
    return [WorkspaceMembershipRecord(*row) for row in rows.all()]


async def workspace_of(
    session: AsyncSession, account_id: uuid.UUID, workspace_id: uuid.UUID
) -> WorkspaceMembershipRecord | None:
    row = (await session.execute(_memberships_of(account_id).where(Workspace.id == workspace_id))).first()
    return WorkspaceMembershipRecord(*row) if row else None


# -- apps ---------------------------------------------------------------------------------------------


def _tag_names(dialect: str) -> ColumnElement[Any]:
    """The app's workspace tag names as one JSON array (NULL or ``[]`` when it has none)."""
    aggregate = (
        func.json_agg(Tag.name, type_=JSON)
        if dialect == "postgresql"
        else func.json_group_array(Tag.name, type_=JSON)
    )
    return (
        select(aggregate)
        .select_from(TagBinding)
        .join(Tag, Tag.id == TagBinding.tag_id)
        .where(TagBinding.target_id == App.id, Tag.tenant_id == App.tenant_id, Tag.type == "app")
        .correlate(App)
        .scalar_subquery()
    )


def _decode_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    names = [name for name in value or () if isinstance(name, str)]
    return tuple(sorted(set(names)))  # stable for clients; tag order carries no meaning


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _app_select(session: AsyncSession, *, details: bool, config: bool) -> Select[Any]:
    """Apps plus, when asked, creator name, workspace name and tags (``details``) and the config."""
    columns: list[Any] = [
        App.id,
        App.tenant_id,
        App.name,
        App.description,
        App.mode,
        App.enable_api,
        App.updated_at,
        Account.name.label("creator_name") if details else literal(None).label("creator_name"),
        Workspace.name.label("workspace_name") if details else literal(None).label("workspace_name"),
        _tag_names(_dialect(session)).label("tags") if details else literal(None).label("tags"),
        App.config if config else literal(None).label("config"),
    ]
    statement = select(*columns).select_from(App)
    if details:
        statement = statement.outerjoin(Account, Account.id == App.created_by).join(
            Workspace, Workspace.id == App.tenant_id
        )
    return statement


def _record(row: Any) -> AppRecord:
    return AppRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        description=row.description or "",
        mode=row.mode,
        enable_api=bool(row.enable_api),
        updated_at=row.updated_at,
        creator_name=row.creator_name,
        workspace_name=row.workspace_name,
        tags=_decode_tags(row.tags),
        config=row.config,
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _list_filters(query: AppListQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [
        App.tenant_id == query.workspace_id,
        LISTABLE,  # type: ignore[list-item]
        App.mode.in_(MODES),  # channel and rag-pipeline apps are not addressable through this API
    ]
    if query.mode:
        filters.append(App.mode == query.mode)
    if query.name:
        pattern = f"%{_escape_like(query.name[:NAME_FILTER_PREFIX])}%"
        filters.append(App.name.ilike(pattern, escape="\\"))
    if query.tag:
        # Several tags may share a name: any of them counts. An unknown tag simply matches nothing.
        tagged = (
            select(TagBinding.target_id)
            .join(Tag, Tag.id == TagBinding.tag_id)
            .where(Tag.tenant_id == query.workspace_id, Tag.type == "app", Tag.name == query.tag)
        )
        filters.append(App.id.in_(tagged))
    return filters


async def count_listable(session: AsyncSession, query: AppListQuery) -> int:
    statement = select(func.count()).select_from(App).where(*_list_filters(query))
    return int((await session.execute(statement)).scalar_one())


async def page_of_listable(session: AsyncSession, query: AppListQuery, offset: int) -> list[AppRecord]:
    statement = (
        _app_select(session, details=True, config=False)
        .where(*_list_filters(query))
        .order_by(App.created_at.desc(), App.id.desc())
        .offset(offset)
        .limit(query.limit)
    )
    return [_record(row) for row in (await session.execute(statement)).all()]


async def listable_app(session: AsyncSession, workspace_id: uuid.UUID, app_id: uuid.UUID) -> AppRecord | None:
    """The list's UUID shortcut: that one app, if it would be listed in this workspace."""
    statement = _app_select(session, details=True, config=False).where(
        App.id == app_id, App.tenant_id == workspace_id, LISTABLE, App.mode.in_(MODES)
    )
    row = (await session.execute(statement)).first()
    return _record(row) if row else None


async def live_app(
    session: AsyncSession, app_id: uuid.UUID, *, details: bool, config: bool
) -> AppRecord | None:
    """An app with status normal, whatever its API switch (the caller decides 403 vs 404)."""
    statement = _app_select(session, details=details, config=config).where(
        App.id == app_id, App.status == AppStatus.NORMAL.value
    )
    row = (await session.execute(statement)).first()
    return _record(row) if row else None


async def live_apps_named(
    session: AsyncSession, workspace_id: uuid.UUID, name: str, *, details: bool, config: bool
) -> list[AppRecord]:
    """Apps of the workspace whose name is exactly ``name`` (candidates of a name-based describe)."""
    statement = (
        _app_select(session, details=details, config=config)
        .where(App.tenant_id == workspace_id, App.name == name, App.status == AppStatus.NORMAL.value)
        .order_by(App.created_at.desc(), App.id.desc())
    )
    return [_record(row) for row in (await session.execute(statement)).all()]


