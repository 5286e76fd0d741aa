"""``GET /openapi/v1/workspaces`` and ``/workspaces/{id}`` (spec §3.6, §3.7): account subjects only."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, get
from litestar.params import FromPath

from core.auth.guards import bearer_guard, current_subject, require_membership
from core.auth.subject import ACCOUNT, Subject
from core.context import HostContext
from core.domain import reads
from core.domain.ids import parse_uuid
from core.http.errors import ApiError
from core.http.responses import BEARER_GUARDED, error_responses
from plugins.openapi_apps.present import workspace_detail, workspace_row
from plugins.openapi_apps.schemas import WorkspaceDetail, WorkspaceList


def _not_found() -> ApiError:
    return ApiError(404, "workspace not found")


def _account_id(subject: Subject) -> uuid.UUID:
    # The surface guard admits account subjects only, and their tokens always carry the account id.
    assert subject.account_id is not None
    return uuid.UUID(subject.account_id)


class WorkspacesController(Controller):
    path = "/openapi/v1/workspaces"
    tags = ["workspaces"]
    guards = [bearer_guard([ACCOUNT])]

    @get("", summary="The caller's workspaces, oldest first", responses=error_responses(*BEARER_GUARDED))
    async def list_workspaces(self, request: Request) -> WorkspaceList:
        ctx: HostContext = request.app.state.host
        async with ctx.reads.connect() as conn:
            records = await reads.workspaces_of(conn, _account_id(current_subject(request)))
        return WorkspaceList(workspaces=[workspace_row(record) for record in records])

    @get(
        "/{workspace_id:str}",
        summary="One workspace the caller belongs to",
        responses=error_responses(*BEARER_GUARDED, 404),
    )
    async def get_workspace(self, request: Request, workspace_id: FromPath[str]) -> WorkspaceDetail:
        ctx: HostContext = request.app.state.host
        subject = current_subject(request)
        parsed = parse_uuid(workspace_id)
        if parsed is None:
            raise _not_found()  # a malformed id is just an id nobody is a member of
        require_membership(subject, str(parsed))
        async with ctx.reads.connect() as conn:
            record = await reads.workspace_of(conn, _account_id(subject), parsed)
        if record is None:  # left the workspace since the token's membership snapshot was taken
            raise _not_found()
        return workspace_detail(record)
