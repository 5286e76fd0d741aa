"""``/openapi/v1/oauth/device/*``: code, token (poll), lookup, approve, deny.

Order of checks (spec §1.2-§1.5): rate limits run as guards, before the body or query is read; a
missing or mistyped field answers 400 ``bad_request`` (this surface's contract, not 422); then the
brute-force lockout; then the flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import JSONBody, QueryParameter

from core.auth.bearer import BEARER_DISABLED
from core.auth.console import console_session_guard, console_user
from core.context import HostContext
from core.http.errors import (
    RETRY_AFTER_SECONDS,
    ApiError,
    OAuthError,
    oauth_error_response,
    validation_as_bad_request,
)
from core.http.ratelimit import RateLimit
from core.http.request import accepts_form
from core.http.responses import error_responses
from core.services import DeviceApprovalError
from plugins.oauth_device.abuse import (
    APPROVE_PER_ACCOUNT,
    DENY_PER_ACCOUNT,
    DEVICE_CODE_PER_IP,
    LOOKUP_PER_IP,
    WrongCodeCounter,
)
from plugins.oauth_device.approvals import DeviceApprovalService
from plugins.oauth_device.bodies import (
    Decision,
    DeviceAuthorization,
    DeviceCodeRequest,
    Lookup,
    PollRequest,
    UserCodeRequest,
)
from plugins.oauth_device.codes import MAX_USER_CODE_INPUT
from plugins.oauth_device.flow import DeviceFlow
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.urls import verification_base


def _host(request: ASGIConnection) -> HostContext:
    return request.app.state.host


def _ip(request: ASGIConnection) -> str:
    return request.app.state.client_ip(request)


def decision_gate(limit: RateLimit) -> Any:
    """After the console session: an account without a workspace cannot decide (401, as in Dify),
    the bearer feature must be on (503), then the per-account bucket."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        ctx = _host(connection)
        user = console_user(connection)
        if user.active_workspace_id is None:
            raise ApiError(401, "Unauthorized.")
        if not ctx.settings.bearer.enabled:
            raise ApiError(503, BEARER_DISABLED)
        await limit.enforce(ctx.state, str(user.account_id))

    return guard


DECISION_ERRORS = error_responses(401, 429, oauth=(404, 409, 503))


class DeviceController(Controller):
    path = "/openapi/v1/oauth/device"
    tags = ["oauth device flow"]
    exception_handlers = {ValidationException: validation_as_bad_request}

    @post(
        "/code",
        summary="Start a device authorization (RFC 8628 §3.1)",
        status_code=200,
        guards=[DEVICE_CODE_PER_IP.per_ip_guard()],
        responses=error_responses(429, oauth=(400, 503)),
        **accepts_form(),
    )
    async def code(self, request: Request, data: JSONBody[DeviceCodeRequest]) -> DeviceAuthorization:
        runtime = runtime_of(_host(request))
        if data.client_id not in runtime.settings.client_ids:
            raise OAuthError(400, "unsupported_client")
        return await DeviceFlow(runtime).start(
            client_id=data.client_id,
            device_label=data.device_label,
            ip=_ip(request),
            verification_base=verification_base(runtime.ctx.settings),
        )

    @post(
        "/token",
        summary="Poll for the token (RFC 8628 §3.4)",
        description=(
            "Errors are 400 {\"error\": authorization_pending | slow_down | expired_token | access_denied}."
        ),
        status_code=200,
        responses=error_responses(oauth=(400,)),
        **accepts_form(),
    )
    async def token(self, request: Request, data: JSONBody[PollRequest]) -> Response[dict[str, Any]]:
        try:
            flow = DeviceFlow(runtime_of(_host(request)))
            payload = await flow.poll(data.device_code, lambda: _ip(request))
        except OAuthError as exc:
            # Most polls end here (slow_down, authorization_pending): answering directly skips the
            # framework's exception path, with the response core's OAuthError handler gives.
            return oauth_error_response(exc)
        return Response(payload, status_code=200)

    @get(
        "/lookup",
        summary="Is this user code pending? (the /device page)",
        guards=[LOOKUP_PER_IP.per_ip_guard()],
        responses=error_responses(429),
    )
    async def lookup(
        self,
        request: Request,
        user_code: Annotated[str, QueryParameter(name="user_code", max_length=MAX_USER_CODE_INPUT)],
    ) -> Lookup:
        ctx = _host(request)
        ip = _ip(request)
        misses = WrongCodeCounter(ctx)
        await misses.ensure_not_locked(ip)
        body, known = await DeviceFlow(runtime_of(ctx)).lookup(user_code, ip)
        if not known:
            await misses.miss(ip)
        return body

    @post(
        "/approve",
        guards=[console_session_guard, decision_gate(APPROVE_PER_ACCOUNT)],
        summary="Approve a device code (mints dfoa_)",
        status_code=200,
        responses=DECISION_ERRORS,
    )
    async def approve(self, request: Request, data: JSONBody[UserCodeRequest]) -> Decision:
        user = console_user(request)
        service = DeviceApprovalService(runtime_of(_host(request)))
        await _decide(
            request,
            lambda: service.approve_account(
                data.user_code,
                account_id=user.account_id,
                email=user.email,
                active_workspace=user.active_workspace_id,
            ),
        )
        return Decision("approved")

    @post(
        "/deny",
        guards=[console_session_guard, decision_gate(DENY_PER_ACCOUNT)],
        summary="Deny a device code",
        status_code=200,
        responses=DECISION_ERRORS,
    )
    async def deny(self, request: Request, data: JSONBody[UserCodeRequest]) -> Decision:
        user = console_user(request)
        service = DeviceApprovalService(runtime_of(_host(request)))
        await _decide(request, lambda: service.deny(data.user_code, account_id=user.account_id))
        return Decision("denied")


async def _decide(request: Request, decision: Callable[[], Awaitable[Any]]) -> None:
    """The brute-force lockout first, then the decision; an unknown code counts as a miss."""
    misses = WrongCodeCounter(_host(request))
    ip = _ip(request)
    await misses.ensure_not_locked(ip)
    try:
        await decision()
    except DeviceApprovalError as exc:
        if exc.code == "expired_or_unknown":
            await misses.miss(ip)
        # A 503 (outcome unknown) says when to look again, like every other 503 of the server.
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status == 503 else None
        raise OAuthError(exc.status, exc.code, headers) from exc
