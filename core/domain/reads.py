"""Domain reads every plugin needs: an account's workspaces and role, an app by id or by name.

One place for the question "app X, if this subject belongs to its workspace, and with which role", so
no plugin needs another's repository. Each function is one prebuilt statement with bound parameters
(SQLAlchemy's compiled cache hits on every call), run on the connection the caller passes: the host's
autocommit read engine (``HostContext.reads``) for hot reads. Rows are read by position.

Tag names come back as one JSON array per app from a correlated aggregate (``json_agg`` on PostgreSQL,
``json_group_array`` on SQLite), creator and workspace names from joins in the same statement.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import JSON, ColumnElement, FromClause, Select, Table, bindparam, literal_column, null, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from core.domain.models import (
    Account,
    AccountStatus,
    App,
    AppStatus,
    Membership,
    Tag,
    TagBinding,
    Workspace,
    workspace_in_use,
)


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


@dataclass(frozen=True, slots=True)
class AppOfSubject:
    """An app the subject may see, and the subject's role in the app's workspace."""

    app: AppRecord
    role: str


# -- workspaces and roles -------------------------------------------------------------------------------


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
        .where(
            Membership.account_id == account_id,
            Account.status == AccountStatus.ACTIVE.value,
            workspace_in_use(),
        )
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


# -- apps ------------------------------------------------------------------------------------------------

APPS = cast(Table, App.__table__)
_accounts = cast(Table, Account.__table__)
_workspaces = cast(Table, Workspace.__table__)
TAGS = cast(Table, Tag.__table__)
TAG_BINDINGS = cast(Table, TagBinding.__table__)

_WORKSPACE = bindparam("workspace_id", type_=APPS.c.tenant_id.type)
_APP = bindparam("app_id", type_=APPS.c.id.type)
_NAME = bindparam("name", type_=APPS.c.name.type)
_NORMAL: ColumnElement[str] = literal_column(f"'{AppStatus.NORMAL.value}'")
APP_TAG: ColumnElement[str] = literal_column("'app'")


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
        select(TagNameArray(TAGS.c.name))
        .select_from(TAG_BINDINGS.join(TAGS, TAGS.c.id == TAG_BINDINGS.c.tag_id))
        .where(TAG_BINDINGS.c.target_id == app_id, TAGS.c.tenant_id == tenant_id, TAGS.c.type == APP_TAG)
        .scalar_subquery()
    )


def _decode_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    names = [name for name in value or () if isinstance(name, str)]
    return tuple(sorted(set(names)))  # stable for clients; tag order carries no meaning


def with_details(rows: FromClause, *, details: bool, config: bool) -> Select[Any]:
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


def app_record(row: Any) -> AppRecord:
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


@cache
def _live_app_statement(*, details: bool, config: bool) -> Select[Any]:
    return with_details(APPS, details=details, config=config).where(
        APPS.c.id == _APP, APPS.c.status == _NORMAL
    )


@cache
def _live_apps_named_statement(*, details: bool, config: bool) -> Select[Any]:
    return (
        with_details(APPS, details=details, config=config)
        .where(APPS.c.tenant_id == _WORKSPACE, APPS.c.name == _NAME, APPS.c.status == _NORMAL)
        .order_by(APPS.c.created_at.desc(), APPS.c.id.desc())
    )


async def live_app(
    conn: AsyncConnection, app_id: uuid.UUID, *, details: bool, config: bool
) -> AppRecord | None:
    """An app with status normal, whatever its API switch (the caller decides 403 vs 404)."""
    statement = _live_app_statement(details=details, config=config)
    row = (await conn.execute(statement, {"app_id": app_id})).first()
    return app_record(row) if row else None


async def live_apps_named(
    conn: AsyncConnection, workspace_id: uuid.UUID, name: str, *, details: bool, config: bool
) -> list[AppRecord]:
    """Apps of the workspace whose name is exactly ``name`` (candidates of a name-based describe)."""
    statement = _live_apps_named_statement(details=details, config=config)
    result = await conn.execute(statement, {"workspace_id": workspace_id, "name": name})
    return [app_record(row) for row in result.all()]


async def app_of_subject(
    conn: AsyncConnection,
    app_id: uuid.UUID,
    memberships: Mapping[str, str],
    *,
    details: bool = False,
    config: bool = False,
) -> AppOfSubject | None:
    """App ``app_id`` if it is live and in one of ``memberships``' workspaces (workspace id -> role,
    as a bearer subject carries them), with the role; None otherwise, so that an app of another
    workspace looks exactly like no app (ids do not leak). One statement."""
    record = await live_app(conn, app_id, details=details, config=config)
    if record is None:
        return None
    role = memberships.get(str(record.tenant_id))
    return AppOfSubject(record, role) if role is not None else None


_ROLE = (
    select(Membership.role)
    .join(Account, Account.id == Membership.account_id)
    .join(Workspace, Workspace.id == Membership.tenant_id)
    .where(
        Membership.account_id == bindparam("account_id"),
        Membership.tenant_id == bindparam("workspace_id"),
        Account.status == AccountStatus.ACTIVE.value,
        workspace_in_use(),
    )
)


async def role_in(conn: AsyncConnection, account_id: uuid.UUID, workspace_id: uuid.UUID) -> str | None:
    """The account's role in the workspace, or None when it is not an active member (for callers
    without a bearer subject's membership snapshot, such as a console session). One statement."""
    return (await conn.execute(_ROLE, {"account_id": account_id, "workspace_id": workspace_id})).scalar()
