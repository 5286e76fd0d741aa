"""Console API routes the /device page and the console use: login, logout, profile, system features."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from sqlalchemy import select

from core.audit import AuditEvent
from core.auth.console import (
    clear_session_cookies,
    console_session_guard,
    console_user,
    csrf_pair_matches,
    has_session_cookie,
    session_cookies,
)
from core.auth.passwords import HashingBusy, verify_password_off_loop
from core.context import HostContext
from core.domain import services
from core.domain.models import AccountStatus, Membership, Workspace
from core.http.errors import ApiError
from core.http.metrics import LOGINS
from core.http.ratelimit import RateLimit
from core.http.request import json_only
from core.http.responses import error_responses
from core.plugins import await_me_maybe

INVALID_CREDENTIALS = "Invalid email or password."


class LoginBody(msgspec.Struct):
    # Bounded so that neither a rate-limit key nor the argon2 input can be made arbitrarily large.
    email: Annotated[str, msgspec.Meta(max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    remember_me: bool = False


class ProfileBody(msgspec.Struct):
    id: str
    email: str
    name: str
    status: str
    avatar: str | None = None
    interface_language: str = "en-US"
    timezone: str = "UTC"


def _limits(ctx: HostContext) -> tuple[RateLimit, RateLimit]:
    console = ctx.settings.console
    return (
        RateLimit("console_login:ip", console.login_limit_per_ip, 15 * 60),
        RateLimit("console_login:account", console.login_limit_per_account, 15 * 60),
    )


async def merged_system_features(ctx: HostContext) -> dict[str, Any]:
    features: dict[str, Any] = {
        "enable_oauth_bearer": ctx.settings.bearer.enabled,
        "license": {"status": await ctx.license.status()},
        "plugins": sorted(ctx.plugins.settings),
    }
    for contribution in ctx.plugins.hook.system_features(ctx=ctx):
        contribution = await await_me_maybe(contribution)
        if isinstance(contribution, dict):
            for key, value in contribution.items():
                if isinstance(value, dict) and isinstance(features.get(key), dict):
                    features[key] = {**features[key], **value}
                else:
                    features[key] = value
    return features


def _refusal(account: Any, password_ok: bool) -> tuple[str, ApiError] | None:
    """Why this sign-in is refused (the metrics/audit outcome and the answer), or None."""
    if account is None or not password_ok:
        return "rejected", ApiError(401, INVALID_CREDENTIALS, code="invalid_credentials")
    if account.status == AccountStatus.BANNED.value:
        return "banned", ApiError(401, "Account is banned.")
    if account.status == AccountStatus.CLOSED.value:
        return "closed", ApiError(401, INVALID_CREDENTIALS, code="invalid_credentials")
    if account.status == AccountStatus.PENDING.value:
        return "pending", ApiError(400, "Account not initialized.", code="account_not_initialized")
    return None


class ConsoleController(Controller):
    path = "/console/api"
    tags = ["console"]

    @post(
        "/login",
        summary="Sign in with email and password; sets the session and CSRF cookies",
        description=(
            "The body must be application/json (415 otherwise): a cross-site form cannot send JSON "
            "without a CORS preflight, so no other site can sign a visitor into an account (login CSRF)."
        ),
        status_code=200,
        responses=error_responses(401, 415, 422, 429),
        **json_only(),
    )
    async def login(self, request: Request, data: JSONBody[LoginBody]) -> Response[dict[str, str]]:
        ctx: HostContext = request.app.state.host
        ip = request.app.state.client_ip(request)
        ip_limit, account_limit = _limits(ctx)
        await ip_limit.enforce(ctx.state, ip)
        email = data.email.strip().lower()
        await account_limit.enforce(ctx.state, hashlib.sha256(email.encode()).hexdigest())
        async with ctx.session_maker() as session:
            account = await services.account_by_email(session, email)
        # The same answer, after the same work, for an unknown email and a wrong password.
        stored = account.password_hash if account else None
        try:
            password_ok = await verify_password_off_loop(stored, data.password)
        except HashingBusy:
            raise ApiError(
                503, "too many sign-ins at once; try again shortly", headers={"Retry-After": "1"}
            ) from None
        refusal = _refusal(account, password_ok)
        if refusal is not None:
            outcome, error = refusal
            LOGINS.labels(outcome=outcome).inc()
            await ctx.audit(
                AuditEvent(
                    "console.login_failed",
                    {
                        "reason": outcome,
                        "ip": ip,
                        "account_id": str(account.id) if account is not None else None,
                    },
                )
            )
            raise error
        assert account is not None  # no refusal: a known account with the right password
        LOGINS.labels(outcome="accepted").inc()
        return Response({"result": "success"}, cookies=session_cookies(ctx.settings, account.id))

    @post(
        "/logout",
        summary="Sign out: clears the session cookies",
        description=(
            "With a session cookie, X-CSRF-Token must equal the csrf_token cookie (401 otherwise), "
            "so another site cannot sign a visitor out."
        ),
        status_code=200,
        responses=error_responses(401),
    )
    async def logout(self, request: Request) -> Response[dict[str, str]]:
        settings = request.app.state.host.settings
        if has_session_cookie(settings, request) and not csrf_pair_matches(settings, request):
            raise ApiError(401, "CSRF token is missing or invalid.")
        response: Response[dict[str, str]] = Response({"result": "success"})
        clear_session_cookies(settings, response)
        return response

    @get(
        "/account/profile",
        guards=[console_session_guard],
        summary="The signed-in account",
        responses=error_responses(401),
    )
    async def profile(self, request: Request) -> ProfileBody:
        user = console_user(request)
        return ProfileBody(id=str(user.account_id), email=user.email, name=user.name, status=user.status)

    @post(
        "/workspaces/current",
        guards=[console_session_guard],
        summary="The signed-in account's active workspace",
        status_code=200,
        responses=error_responses(401, 404),
    )
    async def current_workspace(self, request: Request) -> dict[str, Any]:
        user = console_user(request)
        if user.active_workspace_id is None:
            raise ApiError(404, "workspace not found")
        ctx: HostContext = request.app.state.host
        async with ctx.session_maker() as session:
            row = (
                await session.execute(
                    select(Workspace, Membership.role)
                    .join(Membership, Membership.tenant_id == Workspace.id)
                    .where(Workspace.id == user.active_workspace_id, Membership.account_id == user.account_id)
                )
            ).first()
        if row is None:
            raise ApiError(404, "workspace not found")
        workspace, role = row
        return {"id": str(workspace.id), "name": workspace.name, "status": workspace.status, "role": role}

    @get(
        "/system-features",
        summary="What the console and the /device page may show",
        responses=error_responses(),
    )
    async def system_features(self, request: Request) -> dict[str, Any]:
        return await merged_system_features(request.app.state.host)
