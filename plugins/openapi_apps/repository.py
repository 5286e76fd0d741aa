"""The SQL of the apps list; every function is one statement (no N+1).

The app and workspace reads every plugin shares (an app by id or name, an account's workspaces) are
the core's (``core.domain.reads``); this module adds what only the list needs: its filters, its exact
count and its page, on the same row shape (``with_details`` / ``app_record``).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from core.domain.reads import APP_TAG, APPS, TAG_BINDINGS, TAGS, AppRecord, app_record, with_details
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


# Every statement is built once per shape (which optional filters it has) with bound parameters for
# the variable parts, and runs on a Core connection: SQLAlchemy's compiled cache then hits on every
# request and no ORM entity machinery is involved.

_WORKSPACE = bindparam("workspace_id", type_=APPS.c.tenant_id.type)
_APP = bindparam("app_id", type_=APPS.c.id.type)
_NAME_PATTERN = bindparam("name_pattern", type_=APPS.c.name.type)
_MODE = bindparam("mode", type_=APPS.c.mode.type)
_TAG = bindparam("tag", type_=TAGS.c.name.type)
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@cache
def _list_filters(*, mode: bool, name: bool, tag: bool) -> tuple[ColumnElement[bool], ...]:
    filters: list[ColumnElement[bool]] = [APPS.c.tenant_id == _WORKSPACE, LISTABLE]  # type: ignore[list-item]
    if mode:
        filters.append(APPS.c.mode == _MODE)
    if name:
        filters.append(APPS.c.name.ilike(_NAME_PATTERN, escape="\\"))
    if tag:
        # Several tags may share a name: any of them counts. An unknown tag simply matches nothing.
        tagged = (
            select(TAG_BINDINGS.c.target_id)
            .join(TAGS, TAGS.c.id == TAG_BINDINGS.c.tag_id)
            .where(TAGS.c.tenant_id == _WORKSPACE, TAGS.c.type == APP_TAG, TAGS.c.name == _TAG)
        )
        filters.append(APPS.c.id.in_(tagged))
    return tuple(filters)


@cache
def _count_statement(*, mode: bool, name: bool, tag: bool) -> Select[Any]:
    return select(func.count()).select_from(APPS).where(*_list_filters(mode=mode, name=name, tag=tag))


_PAGE_COLUMNS = (
    "id", "tenant_id", "name", "description", "mode", "enable_api", "updated_at", "created_by", "created_at"
)


@cache
def _page_statement(*, mode: bool, name: bool, tag: bool) -> Select[Any]:
    # The page of apps first (the partial index walked in order, LIMIT/OFFSET applied), and only then
    # the joins and the tag aggregate for those rows: their cost no longer grows with the workspace.
    page = (
        select(*(APPS.c[name] for name in _PAGE_COLUMNS))
        .where(*_list_filters(mode=mode, name=name, tag=tag))
        .order_by(APPS.c.created_at.desc(), APPS.c.id.desc())
        .limit(_LIMIT)
        .offset(_OFFSET)
        .subquery("page")
    )
    newest_first = (page.c.created_at.desc(), page.c.id.desc())
    return with_details(page, details=True, config=False).order_by(*newest_first)


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
    return [app_record(row) for row in result.all()]


_LISTABLE_APP = with_details(APPS, details=True, config=False).where(
    APPS.c.id == _APP, APPS.c.tenant_id == _WORKSPACE, LISTABLE
)


async def listable_app(conn: AsyncConnection, workspace_id: uuid.UUID, app_id: uuid.UUID) -> AppRecord | None:
    """The list's UUID shortcut: that one app, if it would be listed in this workspace."""
    row = (await conn.execute(_LISTABLE_APP, {"app_id": app_id, "workspace_id": workspace_id})).first()
    return app_record(row) if row else None
