"""Route guards: bearer + accepted subject kinds + scope, and the workspace-membership check.

Litestar runs guards before it parses parameters, which gives the spec's gate order:
bearer -> surface -> scope -> query validation -> membership (in the handler) -> handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.auth.bearer import BearerPipeline, TokenRejected
from core.auth.console import console_session_guard, console_user
from core.auth.subject import ACCOUNT, SCOPE_FULL, Subject
from core.domain.reads import workspaces_of
from core.http.errors import ApiError
from core.http.openapi import BEARER_SCHEME, CONSOLE_SCHEME, marks_security

SUBJECT_KEY = "difyd.subject"


def bearer_guard(accept: Iterable[str], scope: str | None = None) -> Any:
    """Authenticate the bearer token, refuse other subject kinds (403 wrong_surface) and missing scope."""
    accepted = frozenset(accept)

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        pipeline: BearerPipeline = connection.app.state.bearer
        ip = connection.app.state.client_ip(connection)
        try:
            subject = await pipeline.authenticate(connection.headers.get("authorization"), ip)
        except TokenRejected as rejected:
            await pipeline.rejected(rejected, connection.url.path, ip)
            raise
        if subject.kind not in accepted:
            raise await pipeline.wrong_surface(subject, connection.url.path)
        if scope is not None and not subject.has_scope(scope):
            raise ApiError(403, f"insufficient_scope: {scope}")
        connection.scope[SUBJECT_KEY] = subject  # type: ignore[literal-required]

    return marks_security(guard, BEARER_SCHEME)


def account_guard(scope: str = SCOPE_FULL) -> Any:
    """An account, either way it signs in: its bearer token (kind ``account`` with ``scope``) when the
    request carries an Authorization header, else its console session (CSRF on writes). Both end as a
    ``Subject`` (``current_subject``) with the account's memberships, so the same membership and role
    rules apply (``require_role``, ``app_of_subject``)."""
    bearer = bearer_guard(accept=[ACCOUNT], scope=scope)

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        # A bearer token decides when one is sent; any other scheme (a proxy's Basic credentials, say)
        # leaves the console session to decide.
        if connection.headers.get("authorization", "")[:7].lower() == "bearer ":
            await bearer(connection, handler)
            return
        await console_session_guard(connection, handler)
        user = console_user(connection)
        async with connection.app.state.host.reads.connect() as conn:
            memberships = {str(w.id): w.role for w in await workspaces_of(conn, user.account_id)}
        connection.scope[SUBJECT_KEY] = Subject(  # type: ignore[literal-required]
            kind=ACCOUNT,
            scopes=frozenset({SCOPE_FULL}),
            token_id="",
            token_hash="",
            prefix="",
            subject_email=user.email,
            subject_issuer=None,
            account_id=str(user.account_id),
            client_id="console",
            expires_at=None,
            memberships=memberships,
        )

    return marks_security(guard, BEARER_SCHEME, CONSOLE_SCHEME)


def requires_scope(scope: str) -> Any:
    """A guard for routes already behind ``bearer_guard`` that need one more scope."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if not current_subject(connection).has_scope(scope):
            raise ApiError(403, f"insufficient_scope: {scope}")

    return guard


def current_subject(connection: ASGIConnection) -> Subject:
    return connection.scope[SUBJECT_KEY]  # type: ignore[literal-required]


def require_membership(subject: Subject, workspace_id: str) -> str:
    """Return the caller's role in the workspace; a non-member gets 404 so ids don't leak."""
    role = subject.memberships.get(str(workspace_id))
    if role is None:
        raise ApiError(404, "workspace not found")
    return role


# What each role may do, ranked: a route that edits needs "editor" or above; dataset operators and
# normal members read.
ROLE_RANK = {"owner": 3, "admin": 2, "editor": 1, "normal": 0, "dataset_operator": 0}


def require_role(subject: Subject, workspace_id: str, minimum: str) -> str:
    """``require_membership``, then 403 unless the caller's role is ``minimum`` or above."""
    role = require_membership(subject, workspace_id)
    if ROLE_RANK.get(role, -1) < ROLE_RANK[minimum]:
        raise ApiError(403, f"this needs the {minimum} role or above in the workspace")
    return role
