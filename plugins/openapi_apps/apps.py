"""``GET /openapi/v1/apps`` and the describe routes (spec §3.8, §3.9).

Gate order (§2.14): the guard does bearer -> surface(account) -> scope(apps:read); the handler then
validates the query (422), checks membership (404) and only then reads apps.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import PathParameter

from core.auth.guards import bearer_guard, current_subject, require_membership
from core.auth.subject import ACCOUNT, Subject
from core.context import HostContext
from core.domain import reads
from core.domain.ids import parse_uuid
from core.domain.reads import AppRecord
from core.http.errors import ApiError, ErrorDetail
from core.http.pagination import Page, PageNumber, PageSize, offset_of
from core.http.responses import BEARER_GUARDED, error_responses
from plugins.openapi_apps import repository
from plugins.openapi_apps.present import app_description, app_list_row
from plugins.openapi_apps.query import (
    LIST_DEFAULT_LIMIT,
    AppListQuery,
    DescribeQuery,
    Fields,
    ModeFilter,
    NameFilter,
    OptionalWorkspaceId,
    TagFilter,
    WorkspaceId,
    describe_query,
    validation_error,
)
from plugins.openapi_apps.schemas import AppDescription, AppListRow
from plugins.openapi_apps.settings import NAME

SCOPE_APPS_READ = "apps:read"
GUARDED = BEARER_GUARDED
DESCRIBE_ERRORS = error_responses(*GUARDED, 404, 409, 422)
AppRef = Annotated[
    str, PathParameter(max_length=255, description="an app id, or an app's exact name (with workspace_id)")
]


def app_not_found() -> ApiError:
    return ApiError(404, "app not found")


def service_api_disabled() -> ApiError:
    return ApiError(
        403,
        "the service API is disabled for this app",
        code="service_api_disabled",
        hint="An administrator can switch it on: difyd apps update --app <app id> --enable-api",
    )


def ambiguous_name(name: str, candidates: list[AppRecord]) -> ApiError:
    rows = [("ID", "MODE", "NAME"), *((str(c.id), c.mode, c.name) for c in candidates)]
    id_width = max(len(row[0]) for row in rows)
    mode_width = max(len(row[1]) for row in rows)
    table = "\n".join(f"{a:<{id_width}}  {b:<{mode_width}}  {c}" for a, b, c in rows)
    return ApiError(
        409,
        f"app name '{name}' is ambiguous \u2014 re-run with a UUID:\n{table}",
        details=[{"id": str(c.id), "mode": c.mode, "name": c.name} for c in candidates],
    )


class AppsController(Controller):
    path = "/openapi/v1/apps"
    tags = ["apps"]
    guards = [bearer_guard([ACCOUNT], SCOPE_APPS_READ)]

    @get(
        "",
        summary="One page of a workspace's apps, newest first",
        responses=error_responses(*GUARDED, 404, 422),
    )
    async def list_apps(
        self,
        request: Request,
        workspace_id: WorkspaceId,
        page: PageNumber = 1,
        limit: PageSize = LIST_DEFAULT_LIMIT,
        mode: ModeFilter = None,
        name: NameFilter = None,
        tag: TagFilter = None,
    ) -> Page[AppListRow]:
        ctx: HostContext = request.app.state.host
        query = AppListQuery(workspace_id, page, limit, mode, name, tag)
        require_membership(current_subject(request), str(query.workspace_id))
        async with ctx.reads.connect() as conn:
            app_id = parse_uuid(query.name) if query.name else None
            if app_id is not None:
                # UUID shortcut: the name filter names one app; page, limit, mode and tag don't apply.
                record = await repository.listable_app(conn, query.workspace_id, app_id)
                if record is None:
                    return Page.empty(page=query.page, limit=query.limit)
                return Page.of([app_list_row(record)], page=1, limit=1, total=1)
            total = await repository.count_listable(conn, query)
            offset = offset_of(query.page, query.limit)
            records = await repository.page_of_listable(conn, query, offset) if offset < total else []
        return Page.of([app_list_row(r) for r in records], page=query.page, limit=query.limit, total=total)

    # Two paths, one handler: /describe (difyctl 0.1.0-rc.1) and the bare id (newer upstream).
    @get(
        ["/{app_ref:str}/describe", "/{app_ref:str}"],
        summary="An app's info, run parameters and input schema",
        responses=DESCRIBE_ERRORS,
    )
    async def describe_app(
        self,
        request: Request,
        app_ref: AppRef,
        fields: Fields = None,
        workspace_id: OptionalWorkspaceId = None,
    ) -> AppDescription:
        query = describe_query(request.query_params, fields, workspace_id)
        ctx: HostContext = request.app.state.host
        record = await _resolve(ctx, current_subject(request), app_ref, query)
        limits = ctx.plugin_settings(NAME).system_parameters()
        return app_description(record, query.fields, limits)


async def _resolve(ctx: HostContext, subject: Subject, app_ref: str, query: DescribeQuery) -> AppRecord:
    """Find the app by id or by exact name; 404 for anything the caller may not know exists."""
    details = "info" in query.fields
    config = bool(query.fields & {"parameters", "input_schema"})
    app_id = parse_uuid(app_ref)
    async with ctx.reads.connect() as conn:
        if app_id is not None:
            # A workspace_id that differs from the app's is ignored, as the CLI-era server did.
            found = await reads.app_of_subject(
                conn, app_id, subject.memberships, details=details, config=config
            )
            # Someone else's app looks exactly like no app: ids don't leak across workspaces.
            if found is None:
                raise app_not_found()
            record = found.app
        else:
            if query.workspace_id is None:
                detail = ErrorDetail(loc=["workspace_id"], type="missing", msg="Field required")
                raise validation_error([detail], "workspace_id is required for name-based lookup")
            # Checked before the lookup: a 409 would otherwise list names from a foreign workspace.
            require_membership(subject, str(query.workspace_id))
            candidates = await reads.live_apps_named(
                conn, query.workspace_id, app_ref, details=details, config=config
            )
            record = _single(app_ref, candidates)
    if not record.enable_api:
        raise service_api_disabled()
    return record


def _single(name: str, candidates: list[AppRecord]) -> AppRecord:
    enabled = [candidate for candidate in candidates if candidate.enable_api]
    if len(enabled) > 1:
        raise ambiguous_name(name, enabled)
    if enabled:
        return enabled[0]
    if candidates:
        return candidates[0]  # only API-disabled apps carry that name: the caller gets 403
    raise app_not_found()
