"""``/openapi/v1/oauth/device/*``: code, token (poll), lookup, approve, deny."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post

from core.auth.bearer import BEARER_DISABLED
from core.auth.console import ConsoleUser, console_session_guard, console_user
from core.context import HostContext
from core.http.errors import ApiError, OAuthError, oauth_error_response
from core.services import DeviceApprovalError
from plugins.oauth_device.abuse import (
    APPROVE_PER_ACCOUNT,
    DENY_PER_ACCOUNT,
    DEVICE_CODE_PER_IP,
    LOOKUP_PER_IP,
    WrongCodeCounter,
)
from plugins.oauth_device.approvals import DeviceApprovalService
from plugins.oauth_device.bodies import MAX_LABEL_LENGTH, read_body, required_str
from plugins.oauth_device.flow import DeviceFlow
from plugins.oauth_device.runtime import runtime_of


def _host(request: Request) -> HostContext:
    return request.app.state.host


def _ip(request: Request) -> str:
    return request.app.state.client_ip(request)


def verification_base(request: Request) -> str:
    configured = _host(request).settings.console_web_url.strip()
    return configured or str(request.base_url)


class DeviceController(Controller):
    path = "/openapi/v1/oauth/device"
    tags = ["oauth device flow"]

    @post("/code", summary="Start a device authorization (RFC 8628 §3.1)", status_code=200)
    async def code(self, request: Request) -> dict[str, Any]:
        ctx = _host(request)
        ip = _ip(request)
        await DEVICE_CODE_PER_IP.enforce(ctx.state, ip)
        body = await read_body(request)
        client_id = required_str(body, "client_id")
        device_label = required_str(body, "device_label")
        if not device_label.strip() or len(device_label) > MAX_LABEL_LENGTH:
            raise ApiError(400, f"device_label must be 1..{MAX_LABEL_LENGTH} characters", code="bad_request")
        runtime = runtime_of(ctx)
        if client_id not in runtime.settings.client_ids:
            raise OAuthError(400, "unsupported_client")
        return await DeviceFlow(runtime).start(
            client_id=client_id,
            device_label=device_label,
            ip=ip,
            verification_base=verification_base(request),
        )

    @post("/token", summary="Poll for the token (RFC 8628 §3.4)", status_code=200)
    async def token(self, request: Request) -> Response[dict[str, Any]]:
        body = await read_body(request)
        device_code = required_str(body, "device_code")
        required_str(body, "client_id")  # required, but not checked (as in Dify)
        try:
            payload = await DeviceFlow(runtime_of(_host(request))).poll(device_code, lambda: _ip(request))
        except OAuthError as exc:
            # Most polls end here (slow_down, authorization_pending): answering directly skips the
            # framework's exception path, with the response core's OAuthError handler gives.
            return oauth_error_response(exc)
        return Response(payload, status_code=200)

    @get("/lookup", summary="Is this user code pending? (the /device page)")
    async def lookup(self, request: Request) -> dict[str, Any]:
        ctx = _host(request)
        ip = _ip(request)
        await LOOKUP_PER_IP.enforce(ctx.state, ip)
        user_code = request.query_params.get("user_code")
        if user_code is None:
            raise ApiError(400, "user_code is required", code="bad_request")
        misses = WrongCodeCounter(ctx.state)
        await misses.ensure_not_locked(ip)
        body, known = await DeviceFlow(runtime_of(ctx)).lookup(user_code)
        if not known:
            await misses.miss(ip)
        return body

    @post(
        "/approve",
        guards=[console_session_guard],
        summary="Approve a device code (mints dfoa_)",
        status_code=200,
    )
    async def approve(self, request: Request) -> dict[str, str]:
        user, user_code = await _decision_preamble(request, APPROVE_PER_ACCOUNT)
        service = DeviceApprovalService(runtime_of(_host(request)))
        await _decide(
            request,
            service.approve_account(
                user_code,
                account_id=user.account_id,
                email=user.email,
                active_workspace=user.active_workspace_id,
            ),
        )
        return {"status": "approved"}

    @post("/deny", guards=[console_session_guard], summary="Deny a device code", status_code=200)
    async def deny(self, request: Request) -> dict[str, str]:
        user, user_code = await _decision_preamble(request, DENY_PER_ACCOUNT)
        service = DeviceApprovalService(runtime_of(_host(request)))
        await _decide(request, service.deny(user_code, account_id=user.account_id))
        return {"status": "denied"}


async def _decision_preamble(request: Request, limit: Any) -> tuple[ConsoleUser, str]:
    """Dify's order after the session: bearer feature, rate limit, body, then the brute-force lockout."""
    ctx = _host(request)
    user = console_user(request)
    if user.active_workspace_id is None:
        raise ApiError(401, "Unauthorized.")
    if not ctx.settings.bearer.enabled:
        raise ApiError(503, BEARER_DISABLED)
    await limit.enforce(ctx.state, str(user.account_id))
    body = await read_body(request)
    user_code = required_str(body, "user_code")
    await WrongCodeCounter(ctx.state).ensure_not_locked(_ip(request))
    return user, user_code


async def _decide(request: Request, decision: Any) -> None:
    try:
        await decision
    except DeviceApprovalError as exc:
        if exc.code == "expired_or_unknown":
            await WrongCodeCounter(_host(request).state).miss(_ip(request))
        raise OAuthError(exc.status, exc.code) from exc
