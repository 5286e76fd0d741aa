"""``/console/api/apps/{app_id}/assets/…``: the tree and every change to it (README.md, "Routes").

Every route: an account (console session with CSRF on writes, or a bearer token with scope ``full``),
then the app (404 unless it is in one of the caller's workspaces), then the role (editor or above to
write). Every change answers the tree's new revision as ``ETag``; ``If-Match`` with a revision makes a
change conditional (412 when the tree moved on).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import structlog
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from core.api import (
    BEARER_GUARDED,
    HostContext,
    account_guard,
    error_responses,
    json_only,
    validation_as_bad_request,
)
from plugins.app_assets import errors, service
from plugins.app_assets.access import app_scope
from plugins.app_assets.bodies import (
    BatchResult,
    BatchUpload,
    Complete,
    CompletedMany,
    CompleteMany,
    Content,
    CreateFile,
    CreateFolder,
    DownloadUrl,
    FileUpload,
    FlatNode,
    Move,
    Rename,
    Reorder,
    Result,
    TextContent,
    TreeBody,
)
from plugins.app_assets.runtime import Runtime, runtime_of
from plugins.app_assets.storage import StorageError

IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=False,
        max_length=64,
        description='a revision the tree must still be at, as its ETag gave it ("7")',
    ),
]
# A strong entity tag only (RFC 9110 §13.1.1: If-Match never matches a weak one), quoted or bare.
IfNoneMatch = Annotated[
    str | None,
    Parameter(
        header="If-None-Match",
        required=False,
        max_length=1024,
        description="the tree's ETag as last read: 304 while it is unchanged",
    ),
]
_REVISION = re.compile(r'^\s*"?(\d{1,18})"?\s*$')
log = structlog.get_logger("difyd.app_assets")
TEXT_BODY_BYTES = 16 * 1024 * 1024
WRITE_ERRORS = error_responses(*BEARER_GUARDED, 400, 404, 409, 412, 413)


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    ctx: HostContext = request.app.state.host
    return runtime_of(ctx)


def expected_revision(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "*":
        return None
    match = _REVISION.match(raw)
    if match is None:
        raise errors.invalid('If-Match takes a revision, as the tree\'s ETag gives it ("7")')
    return int(match.group(1))


def storage_unavailable(request: Request[Any, Any, Any], exc: StorageError) -> Response[Any]:
    """Object storage failed (unreachable, refused, could not sign): nothing was written, try again."""
    body = {"code": "storage_unavailable", "message": f"object storage is unavailable: {exc}", "status": 503}
    return Response(body, status_code=503, headers={"Retry-After": "5"})


def _tagged(body: Any, revision: int, status: int = 200) -> Response[Any]:
    return Response(body, status_code=status, headers={"ETag": f'"{revision}"'})


class AssetsController(Controller):
    path = "/console/api/apps/{app_id:str}/assets"
    guards = [account_guard()]
    # Upstream's contract: a malformed body is a 400, like a bad name found later.
    exception_handlers = {
        ValidationException: validation_as_bad_request,
        StorageError: storage_unavailable,
    }
    tags = ["app assets"]

    @get(
        "/tree",
        summary="The app's file tree (nested, with paths; pending files marked)",
        description="With If-None-Match naming the current revision, 304 and no body (the tree is not read).",
        responses={
            **error_responses(*BEARER_GUARDED, 404),
            304: ResponseSpec(None, description="Not modified: the tree is still at that revision."),
        },
    )
    async def tree(
        self, request: Request[Any, Any, Any], app_id: str, if_none_match: IfNoneMatch = None
    ) -> Response[Any]:
        app = await app_scope(request, app_id, write=False)
        runtime = _runtime(request)
        if if_none_match is not None:
            async with runtime.ctx.reads.connect() as conn:
                current = await service.revision_of(conn, app.app_id)
            if f'"{current}"' in (tag.strip() for tag in if_none_match.split(",")):
                return Response(None, status_code=304, headers={"ETag": f'"{current}"'})
        revision, tree = await service.read_tree(runtime, app)
        return _tagged(TreeBody(revision=revision, children=tree.view()), revision)

    @post(
        "/folders",
        summary="Create a folder (a taken name becomes 'name 1')",
        status_code=201,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def create_folder(
        self, request: Request[Any, Any, Any], app_id: str, data: CreateFolder, if_match: IfMatch = None
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, node = await service.create_folder(
            _runtime(request), app, expected_revision(if_match), data.name, service.node_ref(data.parent_id)
        )
        return _tagged(node.flat(), revision, 201)

    @post(
        "/files/upload",
        summary="Create one file and its single-use upload URL",
        status_code=201,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def create_file(
        self, request: Request[Any, Any, Any], app_id: str, data: CreateFile, if_match: IfMatch = None
    ) -> Response[FileUpload]:
        app = await app_scope(request, app_id, write=True)
        revision, node, url = await service.create_file(
            _runtime(request),
            app,
            expected_revision(if_match),
            data.name,
            data.size,
            service.node_ref(data.parent_id),
            data.sha256,
        )
        return _tagged(FileUpload(node=node.flat(), upload_url=url), revision, 201)

    @post(
        "/batch-upload",
        summary="Create a whole nested tree in one transaction, with every upload URL",
        status_code=201,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def batch_upload(
        self, request: Request[Any, Any, Any], app_id: str, data: BatchUpload, if_match: IfMatch = None
    ) -> Response[BatchResult]:
        app = await app_scope(request, app_id, write=True)
        revision, children = await service.batch_upload(
            _runtime(request),
            app,
            expected_revision(if_match),
            service.node_ref(data.parent_id),
            data.children,
            data.on_conflict == "fail",
        )
        return _tagged(BatchResult(revision=revision, children=children), revision, 201)

    @post(
        "/files/complete",
        summary="Confirm several uploads at once (all or none marked ready)",
        status_code=200,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def complete_many(
        self, request: Request[Any, Any, Any], app_id: str, data: CompleteMany
    ) -> Response[CompletedMany]:
        app = await app_scope(request, app_id, write=True)
        items = [(service.node_ref(item.id), item.sha256) for item in data.files]
        revision, nodes = await service.complete(_runtime(request), app, items)
        return _tagged(CompletedMany(files=[node.flat() for node in nodes]), revision)

    @get(
        "/files/{node_id:str}",
        summary="A file's text",
        responses=error_responses(*BEARER_GUARDED, 400, 404, 409, 413),
    )
    async def read_text(self, request: Request[Any, Any, Any], app_id: str, node_id: str) -> Content:
        app = await app_scope(request, app_id, write=False)
        return Content(content=await service.read_text(_runtime(request), app, service.node_ref(node_id)))

    @put(
        "/files/{node_id:str}",
        summary="Replace a file's bytes with text",
        responses=WRITE_ERRORS,
        # Room for max_text_bytes (5 MiB by default) of text, escaped as JSON; the text itself is checked.
        request_max_body_size=TEXT_BODY_BYTES,
        **json_only(),
    )
    async def write_text(
        self,
        request: Request[Any, Any, Any],
        app_id: str,
        node_id: str,
        data: TextContent,
        if_match: IfMatch = None,
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, node = await service.write_text(
            _runtime(request), app, expected_revision(if_match), service.node_ref(node_id), data.content
        )
        return _tagged(node.flat(), revision)

    @post(
        "/files/{node_id:str}/complete",
        summary="Confirm an upload: size (and SHA-256) checked, then ready",
        status_code=200,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def complete_one(
        self, request: Request[Any, Any, Any], app_id: str, node_id: str, data: Complete
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, nodes = await service.complete(
            _runtime(request), app, [(service.node_ref(node_id), data.sha256)]
        )
        return _tagged(nodes[0].flat(), revision)

    @get(
        "/files/{node_id:str}/download-url",
        summary="A short-lived download URL for a ready file",
        responses=error_responses(*BEARER_GUARDED, 404, 409),
    )
    async def download_url(self, request: Request[Any, Any, Any], app_id: str, node_id: str) -> DownloadUrl:
        app = await app_scope(request, app_id, write=False)
        return DownloadUrl(
            download_url=await service.download_url(_runtime(request), app, service.node_ref(node_id))
        )

    @delete(
        "/nodes/{node_id:str}",
        summary="Delete a node and everything below it",
        status_code=200,
        responses=error_responses(*BEARER_GUARDED, 400, 404, 412),
    )
    async def delete_node(
        self, request: Request[Any, Any, Any], app_id: str, node_id: str, if_match: IfMatch = None
    ) -> Response[Result]:
        app = await app_scope(request, app_id, write=True)
        runtime = _runtime(request)
        revision = await service.delete_node(
            runtime, app, expected_revision(if_match), service.node_ref(node_id)
        )
        try:  # the delete has committed: a queue that cannot take the job now must not undo its answer
            await runtime.ctx.jobs.enqueue("app_assets.delete_objects")
        except Exception as exc:  # the five-minute schedule deletes the bytes instead
            log.warning("app_assets_enqueue_failed", error_type=type(exc).__name__)
        return _tagged(Result(result="success"), revision)

    @post(
        "/nodes/{node_id:str}/rename",
        summary="Rename a node (409 when a sibling has the name)",
        status_code=200,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def rename(
        self,
        request: Request[Any, Any, Any],
        app_id: str,
        node_id: str,
        data: Rename,
        if_match: IfMatch = None,
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, node = await service.rename(
            _runtime(request), app, expected_revision(if_match), service.node_ref(node_id), data.name
        )
        return _tagged(node.flat(), revision)

    @post(
        "/nodes/{node_id:str}/move",
        summary="Move a node under another folder (or the root)",
        status_code=200,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def move(
        self, request: Request[Any, Any, Any], app_id: str, node_id: str, data: Move, if_match: IfMatch = None
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, node = await service.move(
            _runtime(request),
            app,
            expected_revision(if_match),
            service.node_ref(node_id),
            service.node_ref(data.parent_id),
        )
        return _tagged(node.flat(), revision)

    @post(
        "/nodes/{node_id:str}/reorder",
        summary="Place a node first, or right after a sibling",
        status_code=200,
        responses=WRITE_ERRORS,
        **json_only(),
    )
    async def reorder(
        self,
        request: Request[Any, Any, Any],
        app_id: str,
        node_id: str,
        data: Reorder,
        if_match: IfMatch = None,
    ) -> Response[FlatNode]:
        app = await app_scope(request, app_id, write=True)
        revision, node = await service.reorder(
            _runtime(request),
            app,
            expected_revision(if_match),
            service.node_ref(node_id),
            service.node_ref(data.after_node_id),
        )
        return _tagged(node.flat(), revision)
