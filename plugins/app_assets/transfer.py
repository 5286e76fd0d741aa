"""The signed transfer URLs of the local storage backend: ``PUT …/upload?token=`` and ``GET
…/download?token=``, served by this server (an S3 backend hands out presigned URLs instead).

Upload URLs are bound to one node and its declared size, and single-use: a claim in the state store
(by the token's nonce) admits one upload at a time and stays once one has succeeded; a failed one
releases it so the client can retry. The body is streamed to a temporary file, never held in memory,
and cut off with 413 the moment it passes the declared size; it replaces the object only when exactly
the declared size arrived. Downloads stream the file as an attachment; the core's header policy adds
``nosniff`` and a sandboxing CSP, so nothing downloaded ever runs on this origin.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, get, put
from litestar.params import Parameter
from litestar.response import File
from sqlalchemy import select

from core.api import (
    ApiError,
    BadSignature,
    HeaderPolicy,
    HostContext,
    SignatureExpired,
    error_responses,
    parse_uuid,
)
from plugins.app_assets.models import PENDING, READY, AssetNode
from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.service import AppScope, mutation
from plugins.app_assets.storage import DOWNLOAD_PATH, UPLOAD_PATH, DownloadGrant, LocalStorage, UploadGrant

Token = Annotated[str, Parameter(query="token", max_length=4096, description="the signed grant")]
PREFIX = "/files/app-assets"
CLAIM = "app_assets:upload_claim:"


def header_policies() -> list[HeaderPolicy]:
    return [
        HeaderPolicy(
            PREFIX,
            {
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY",
            },
        )
    ]


def _local(request: Request[Any, Any, Any]) -> LocalStorage:
    ctx: HostContext = request.app.state.host
    storage = runtime_of(ctx).storage
    if not isinstance(storage, LocalStorage):
        raise ApiError(404, "this server's storage hands out its own URLs")
    return storage


def _grant(signer: Any, token: str, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(signer.verify(token), type=kind)
    except SignatureExpired:
        raise ApiError(403, "this link has expired; ask for a new one", code="link_expired") from None
    except (BadSignature, msgspec.DecodeError, msgspec.ValidationError):
        raise ApiError(403, "this link is not valid", code="invalid_link") from None


@put(
    UPLOAD_PATH,
    summary="Upload a file's bytes through its signed URL (local storage)",
    status_code=204,
    request_max_body_size=None,  # capped below at the size the URL was signed for
    responses=error_responses(400, 403, 404, 409, 413),
)
async def upload(request: Request[Any, Any, Any], token: Token) -> None:
    storage = _local(request)
    grant: UploadGrant = _grant(storage.upload_signer, token, UploadGrant)
    ctx: HostContext = request.app.state.host
    node_id = parse_uuid(grant.n)
    async with ctx.reads.connect() as conn:
        status = await conn.scalar(select(AssetNode.status).where(AssetNode.id == node_id))
    if status is None:
        raise ApiError(404, "the file this link was for no longer exists", code="app_asset_node_not_found")
    if status != PENDING:
        raise ApiError(409, "this file's upload is already complete", code="upload_url_used")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > grant.s:
        raise _too_large(grant.s)
    claim = CLAIM + grant.j
    runtime = runtime_of(ctx)
    if not await ctx.state.set_if_absent(claim, b"1", ttl=runtime.settings.upload_url_seconds):
        raise ApiError(409, "this link has been used (or is in use)", code="upload_url_used")
    path = storage.path_of(grant.k)
    part = path.with_name(f"{path.name}.part-{secrets.token_hex(6)}")
    try:
        await _receive(request, part, grant.s)
        # The bytes become the file's under the app's lock, and only if it is still waiting for them:
        # a text written meanwhile (which takes the same lock) is never overwritten by a late upload.
        tenant_id, app_id = (parse_uuid(segment) for segment in grant.k.split("/")[1:3])
        if tenant_id is None or app_id is None or node_id is None:
            raise ApiError(403, "this link is not valid", code="invalid_link")
        async with mutation(runtime, AppScope(tenant_id, app_id, None), None, bump=False) as m:
            node = m.tree.nodes.get(node_id)
            if node is None:
                raise ApiError(
                    404, "the file this link was for no longer exists", code="app_asset_node_not_found"
                )
            if node.status != PENDING:
                raise ApiError(409, "this file's upload is already complete", code="upload_url_used")
            await anyio.to_thread.run_sync(os.replace, part, path)
    except BaseException:
        await ctx.state.delete(claim)  # nothing was stored: the same link may try again
        raise
    finally:
        await anyio.Path(part).unlink(missing_ok=True)


async def _receive(request: Request[Any, Any, Any], part: Any, size: int) -> None:
    """The body into ``part``, cut off the moment it passes ``size``: exactly ``size`` bytes or an error."""
    await anyio.Path(part.parent).mkdir(parents=True, exist_ok=True)
    received = 0
    async with await anyio.open_file(part, "wb") as handle:
        async for chunk in request.stream():
            received += len(chunk)
            if received > size:
                raise _too_large(size)
            await handle.write(chunk)
    if received != size:
        raise ApiError(
            400, f"{received} bytes arrived; this link is for exactly {size}", code="size_mismatch"
        )


def _too_large(size: int) -> ApiError:
    return ApiError(413, f"this link is for {size} bytes", code="upload_too_large")


@get(
    DOWNLOAD_PATH,
    summary="Download a file through its signed URL (local storage)",
    responses=error_responses(403, 404),
    media_type="application/octet-stream",
)
async def download(request: Request[Any, Any, Any], token: Token) -> File:
    storage = _local(request)
    grant: DownloadGrant = _grant(storage.download_signer, token, DownloadGrant)
    # The node must still be there, and ready: a file deleted after its URL was handed out is gone at
    # once, not when the outbox job gets to its bytes.
    ctx: HostContext = request.app.state.host
    node_id = parse_uuid(grant.k.rsplit("/", 1)[-1])
    async with ctx.reads.connect() as conn:
        status = await conn.scalar(select(AssetNode.status).where(AssetNode.id == node_id))
    path = storage.path_of(grant.k)
    if status != READY or not await anyio.Path(path).is_file():
        raise ApiError(404, "the file is gone", code="app_asset_node_not_found")
    return File(
        path, filename=grant.f, content_disposition_type="attachment", media_type="application/octet-stream"
    )


def transfer_handlers() -> list[Any]:
    return [upload, download]
