"""``/openapi/v1/account*``: identity readback and the device sessions (both subject kinds, as in F)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get
from litestar.params import FromPath

from core.audit import AuditEvent
from core.auth.bearer import forget_token
from core.auth.guards import bearer_guard, current_subject
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, Subject
from core.context import HostContext
from core.domain.ids import parse_uuid
from core.http.errors import ApiError, unknown_parameters
from core.http.pagination import Page, PageNumber, PageSize, offset_of
from core.http.responses import BEARER_GUARDED, error_responses
from plugins.oauth_device.abuse import ACCOUNT_PER_ACCOUNT, ACCOUNT_PER_EMAIL
from plugins.oauth_device.payloads import account_identity, iso_z
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.tokens import Subject as Owner

SESSIONS_QUERY = frozenset({"page", "limit"})
DEFAULT_SESSIONS_LIMIT = 100


class SessionRow(msgspec.Struct):
    id: str
    prefix: str
    client_id: str
    device_label: str
    created_at: str | None
    last_used_at: str | None
    expires_at: str | None


def owner_of(subject: Subject) -> Owner:
    account_id = uuid.UUID(subject.account_id) if subject.account_id else None
    return Owner(subject.subject_email, subject.subject_issuer, account_id)


def _session_not_found() -> ApiError:
    return ApiError(404, "session not found")


async def _revoked(ctx: HostContext, subject: Subject, token_id: str, reason: str) -> None:
    await ctx.audit(
        AuditEvent(
            "oauth.token_revoked",
            {
                "token_id": token_id,
                "subject_type": subject.kind,
                "revoked_by": subject.token_id,
                "reason": reason,
            },
        )
    )


class AccountController(Controller):
    path = "/openapi/v1/account"
    tags = ["account"]
    guards = [bearer_guard(accept=[ACCOUNT, EXTERNAL_SSO])]

    @get("/", summary="Who this token belongs to", responses=error_responses(*BEARER_GUARDED))
    async def identity(self, request: Request) -> dict[str, Any]:
        ctx: HostContext = request.app.state.host
        subject = current_subject(request)
        if subject.account_id:
            await ACCOUNT_PER_ACCOUNT.enforce(ctx.state, subject.account_id)
        else:
            await ACCOUNT_PER_EMAIL.enforce(ctx.state, subject.subject_email)
        if subject.kind != ACCOUNT or not subject.account_id:
            return {
                "subject_type": EXTERNAL_SSO,
                "subject_email": subject.subject_email,
                "subject_issuer": subject.subject_issuer,
                "account": None,
                "workspaces": [],
                "default_workspace_id": None,
            }
        async with ctx.session_maker() as session:
            account, workspaces, default = await account_identity(session, uuid.UUID(subject.account_id))
        return {
            "subject_type": ACCOUNT,
            "subject_email": subject.subject_email,
            "account": account,
            "workspaces": workspaces,
            "default_workspace_id": default,
        }

    @get(
        "/sessions",
        summary="The caller's live device sessions, newest first",
        description="Strict query: a parameter other than page and limit is a 422.",
        responses=error_responses(*BEARER_GUARDED, 422),
    )
    async def sessions(
        self,
        request: Request,
        page: PageNumber = 1,
        limit: PageSize = DEFAULT_SESSIONS_LIMIT,
    ) -> Page[SessionRow]:
        strict = unknown_parameters(request.query_params.keys(), SESSIONS_QUERY)
        if strict is not None:
            raise strict
        runtime = runtime_of(request.app.state.host)
        rows, total = await runtime.tokens.sessions(
            owner_of(current_subject(request)), runtime.now_dt(), offset=offset_of(page, limit), limit=limit
        )
        # Rows unpacked by position (the repository's column order): cheaper than access by name.
        data = [
            SessionRow(
                id=str(id_),
                prefix=prefix,
                client_id=client_id,
                device_label=device_label,
                created_at=iso_z(created_at),
                last_used_at=iso_z(last_used_at),
                expires_at=iso_z(expires_at),
            )
            for id_, prefix, client_id, device_label, created_at, last_used_at, expires_at in rows
        ]
        return Page.of(data, page=page, limit=limit, total=total)

    @delete(
        "/sessions/self",
        summary="Revoke the presenting token (logout)",
        status_code=200,
        responses=error_responses(*BEARER_GUARDED),
    )
    async def revoke_self(self, request: Request) -> dict[str, str]:
        ctx: HostContext = request.app.state.host
        subject = current_subject(request)
        runtime = runtime_of(ctx)
        token_id = await runtime.tokens.revoke_by_hash(subject.token_hash, runtime.now_dt())
        # Audited as soon as it is durable: the cache forgetting below may fail (503), and the retry
        # that follows finds the row already revoked and does not audit it again.
        if token_id is not None:
            await _revoked(ctx, subject, str(token_id), "self")
        await forget_token(ctx.state, subject.token_hash)
        return {"status": "revoked"}

    @delete(
        "/sessions/{session_id:str}",
        summary="Revoke one of the caller's sessions",
        status_code=200,
        responses=error_responses(*BEARER_GUARDED, 404),
    )
    async def revoke_one(self, request: Request, session_id: FromPath[str]) -> dict[str, str]:
        ctx: HostContext = request.app.state.host
        subject = current_subject(request)
        token_id = parse_uuid(session_id)
        if token_id is None:
            raise _session_not_found()
        runtime = runtime_of(ctx)
        owner = owner_of(subject)
        old_hash = await runtime.tokens.revoke(token_id, runtime.now_dt(), owner)
        if old_hash is not None:
            await _revoked(ctx, subject, str(token_id), "session")  # durable: audited before the cache
            await forget_token(ctx.state, old_hash)
        elif not await runtime.tokens.owned(token_id, owner):
            # Nothing revoked: an already-revoked own session is still a 200, a foreign or unknown id a 404.
            raise _session_not_found()
        return {"status": "revoked"}
