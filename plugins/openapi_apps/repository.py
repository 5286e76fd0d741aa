"""The SQL behind this surface; every function is one statement (no N+1).

Tag names come back as one JSON array per app from a correlated aggregate (``json_agg`` on PostgreSQL,
``json_group_array`` on SQLite), creator and workspace names from joins in the same statement.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Table,
    bindparam,
    func,
    literal_column,
    null,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.domain.models import Account, AccountStatus, App, AppStatus, Membership, Tag, TagBinding, Workspace
from plugins.openapi_apps.query import MODES, AppListQuery

# What makes an app visible in lists: listable, and one of the modes this API addresses (channel and
# rag-pipeline apps are not). Literal SQL (not bound parameters) on purpose: it is the exact predicate
# of the partial indexes ix_apps_openapi_listable(_count) (migration openapi_apps_0002), which the
# planners of SQLite and PostgreSQL can only prove usable against the very same literals.
LISTABLE = text(
    "apps.status = 'normal' AND apps.enable_api AND NOT apps.is_universal AND apps.mode IN ("
    + ", ".join(f"'{mode}'" for mode in MODES)
    + ")"
)
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


async def workspaces_of(conn: AsyncConnection, account_id: uuid.UUID) -> list[WorkspaceMembershipRecord]:
    """Every workspace the account belongs to, oldest workspace first."""
    rows = await conn.execute(_memberships_of(account_id).order_by(Workspace.created_at, Workspace.id))
    return [WorkspaceMembershipRecord(*row) for row in rows.all()]


async def workspace_of(
    conn: AsyncConnection, account_id: uuid.UUID, workspace_id: uuid.UUID
) -> WorkspaceMembershipRecord | None:
    row = (await conn.execute(_memberships_of(account_id).where(Workspace.id == workspace_id))).first()
    return WorkspaceMembershipRecord(*row) if row else None


# -- apps ---------------------------------------------------------------------------------------------
#
# Every app statement is built once per shape (which optional filters / blocks it has) with bound
# parameters for the variable parts, and runs on a Core connection: SQLAlchemy's compiled cache then
# hits on every request and no ORM entity machinery is involved. Column names are the wire record's.

_apps = cast(Table, App.__table__)
_accounts = cast(Table, Account.__table__)
_workspaces = cast(Table, Workspace.__table__)
_tags = cast(Table, Tag.__table__)
_bindings = cast(Table, TagBinding.__table__)

_WORKSPACE = bindparam("workspace_id", type_=_apps.c.tenant_id.type)
_APP = bindparam("app_id", type_=_apps.c.id.type)
_NAME = bindparam("name", type_=_apps.c.name.type)
_NAME_PATTERN = bindparam("name_pattern", type_=_apps.c.name.type)
_MODE = bindparam("mode", type_=_apps.c.mode.type)
_TAG = bindparam("tag", type_=_tags.c.name.type)
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)
_NORMAL: ColumnElement[str] = literal_column(f"'{AppStatus.NORMAL.value}'")
_APP_TAG: ColumnElement[str] = literal_column("'app'")


class TagNameArray(FunctionElement[Any]):
    """The tag names of one app as a JSON array: ``json_agg`` on PostgreSQL, ``json_group_array`` else."""

    type = JSON()
    inherit_cache = True


@compiles(TagNameArray)
def _tag_name_array_default(element: TagNameArray, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(element.clauses, **kw)})"


@compiles(TagNameArray, "postgresql")
def _tag_name_array_postgresql(element: TagNameArray, compiler: Any, **kw: Any) -> str:
    return f"json_agg({compiler.process(element.clauses, **kw)})"


def _tag_names(app_id: ColumnElement[Any], tenant_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The app's workspace tag names as one JSON array (NULL or ``[]`` when it has none)."""
    return (
        select(TagNameArray(_tags.c.name))
        .select_from(_bindings.join(_tags, _tags.c.id == _bindings.c.tag_id))
        .where(_bindings.c.target_id == app_id, _tags.c.tenant_id == tenant_id, _tags.c.type == _APP_TAG)
        .scalar_subquery()
    )


def _decode_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    names = [name for name in value or () if isinstance(name, str)]
    return tuple(sorted(set(names)))  # stable for clients; tag order carries no meaning


def _with_details(rows: FromClause, *, details: bool, config: bool) -> Select[Any]:
    """``rows`` (apps or a page of them) plus, when asked, creator name, workspace name and tags
    (``details``) and the config."""
    columns: list[Any] = [
        rows.c.id,
        rows.c.tenant_id,
        rows.c.name,
        rows.c.description,
        rows.c.mode,
        rows.c.enable_api,
        rows.c.updated_at,
        _accounts.c.name.label("creator_name") if details else null().label("creator_name"),
        _workspaces.c.name.label("workspace_name") if details else null().label("workspace_name"),
        _tag_names(rows.c.id, rows.c.tenant_id).label("tags") if details else null().label("tags"),
        rows.c.config if config else null().label("config"),
    ]
    source: FromClause = rows
    if details:
        source = rows.outerjoin(_accounts, _accounts.c.id == rows.c.created_by).join(
            _workspaces, _workspaces.c.id == rows.c.tenant_id
        )
    return select(*columns).select_from(source)


def _record(row: Any) -> AppRecord:
    # Unpacked by position (the column order of _with_details): attribute access by name on a Row
    # costs several times more, and a page has up to 200 rows.
    id_, tenant_id, name, description, mode, enable_api, updated_at, creator, workspace, tags, config = row
    return AppRecord(
        id=id_,
        tenant_id=tenant_id,
        name=name,
        description=description or "",
        mode=mode,
        enable_api=bool(enable_api),
        updated_at=updated_at,
        creator_name=creator,
        workspace_name=workspace,
        tags=_decode_tags(tags) if tags else (),
        config=config,
    )


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@cache
def _list_filters(*, mode: bool, name: bool, tag: bool) -> tuple[ColumnElement[bool], ...]:
    filters: list[ColumnElement[bool]] = [_apps.c.tenant_id == _WORKSPACE, LISTABLE]  # type: ignore[list-item]
    if mode:
        filters.append(_apps.c.mode == _MODE)
    if name:
        filters.append(_apps.c.name.ilike(_NAME_PATTERN, escape="\\"))
    if tag:
        # Several tags may share a name: any of them counts. An unknown tag simply matches nothing.
        tagged = (
            select(_bindings.c.target_id)
            .join(_tags, _tags.c.id == _bindings.c.tag_id)
            .where(_tags.c.tenant_id == _WORKSPACE, _tags.c.type == _APP_TAG, _tags.c.name == _TAG)
        )
        filters.append(_apps.c.id.in_(tagged))
    return tuple(filters)


@cache
def _count_statement(*, mode: bool, name: bool, tag: bool) -> Select[Any]:
    return select(func.count()).select_from(_apps).where(*_list_filters(mode=mode, name=name, tag=tag))


_PAGE_COLUMNS = (
    "id", "tenant_id", "name", "description", "mode", "enable_api", "updated_at", "created_by", "created_at"
)


@cache
def _page_statement(*, mode: bool, name: bool, tag: bool) -> Select[Any]:
    # The page of apps first (the partial index walked in order, LIMIT/OFFSET applied), and only then
    # the joins and the tag aggregate for those rows: their cost no longer grows with the workspace.
    page = (
        select(*(_apps.c[name] for name in _PAGE_COLUMNS))
        .where(*_list_filters(mode=mode, name=name, tag=tag))
        .order_by(_apps.c.created_at.desc(), _apps.c.id.desc())
        .limit(_LIMIT)
        .offset(_OFFSET)
        .subquery("page")
    )
    newest_first = (page.c.created_at.desc(), page.c.id.desc())
    return _with_details(page, details=True, config=False).order_by(*newest_first)


def _list_params(query: AppListQuery) -> dict[str, Any]:
    params: dict[str, Any] = {"workspace_id": query.workspace_id}
    if query.mode:
        params["mode"] = query.mode
    if query.name:
        params["name_pattern"] = f"%{_escape_like(query.name[:NAME_FILTER_PREFIX])}%"
    if query.tag:
        params["tag"] = query.tag
    return params


def _shape(query: AppListQuery) -> dict[str, bool]:
    return {"mode": bool(query.mode), "name": bool(query.name), "tag": bool(query.tag)}


async def count_listable(conn: AsyncConnection, query: AppListQuery) -> int:
    result = await conn.execute(_count_statement(**_shape(query)), _list_params(query))
    return int(result.scalar_one())


async def page_of_listable(conn: AsyncConnection, query: AppListQuery, offset: int) -> list[AppRecord]:
    params = {**_list_params(query), "limit": query.limit, "offset": offset}
    result = await conn.execute(_page_statement(**_shape(query)), params)
    return [_record(row) for row in result.all()]


_LISTABLE_APP = _with_details(_apps, details=True, config=False).where(
    _apps.c.id == _APP, _apps.c.tenant_id == _WORKSPACE, LISTABLE
)


async def listable_app(conn: AsyncConnection, workspace_id: uuid.UUID, app_id: uuid.UUID) -> AppRecord | None:
    """The list's UUID shortcut: that one app, if it would be listed in this workspace."""
    row = (await conn.execute(_LISTABLE_APP, {"app_id": app_id, "workspace_id": workspace_id})).first()
    return _record(row) if row else None


@cache
def _live_app_statement(*, details: bool, config: bool) -> Select[Any]:
    return _with_details(_apps, details=details, config=config).where(
        _apps.c.id == _APP, _apps.c.status == _NORMAL
    )


@cache
def _live_apps_named_statement(*, details: bool, config: bool) -> Select[Any]:
    return (
        _with_details(_apps, details=details, config=config)
        .where(_apps.c.tenant_id == _WORKSPACE, _apps.c.name == _NAME, _apps.c.status == _NORMAL)
        .order_by(_apps.c.created_at.desc(), _apps.c.id.desc())
    )


async def live_app(
    conn: AsyncConnection, app_id: uuid.UUID, *, details: bool, config: bool
) -> AppRecord | None:
    """An app with status normal, whatever its API switch (the caller decides 403 vs 404)."""
    statement = _live_app_statement(details=details, config=config)
    row = (await conn.execute(statement, {"app_id": app_id})).first()
    return _record(row) if row else None


async def live_apps_named(
    conn: AsyncConnection, workspace_id: uuid.UUID, name: str, *, details: bool, config: bool
) -> list[AppRecord]:
    """Apps of the workspace whose name is exactly ``name`` (candidates of a name-based describe)."""
    statement = _live_apps_named_statement(details=details, config=config)
    result = await conn.execute(statement, {"workspace_id": workspace_id, "name": name})
    return [_record(row) for row in result.all()]
