"""device_approvals: one plugin offers a service another uses, with no import between them."""

from __future__ import annotations

from typing import Any

from litestar import Request, get

from core.hookspecs import hookimpl
from core.http.errors import ApiError
from core.services import ApprovalOutcome, DeviceApprovals, PendingDeviceCode
from tests.support.probes import probe_client, probe_host


class ProbeApprovals:
    """A provider with one pending code, ``ABCD-EFGH``."""

    async def lookup_pending(self, user_code: str) -> PendingDeviceCode | None:
        if user_code.replace("-", "").upper() != "ABCDEFGH":
            return None
        return PendingDeviceCode("ABCD-EFGH", "difyctl", "laptop", 300)

    async def approve_external(
        self, user_code: str, *, subject_email: str, subject_issuer: str
    ) -> ApprovalOutcome:
        return ApprovalOutcome(token_id="t-1", expires_at=0.0)


class Provider:
    @hookimpl
    def device_approvals(self, ctx: Any) -> DeviceApprovals:
        return ProbeApprovals()


@get("/probe/pending/{user_code:str}")
async def pending(request: Request, user_code: str) -> dict[str, Any]:
    ctx = request.app.state.host
    service = ctx.plugins.hook.device_approvals(ctx=ctx)
    if service is None:
        raise ApiError(503, "no plugin provides device approvals")
    assert isinstance(service, DeviceApprovals)
    code = await service.lookup_pending(user_code)
    return {"client_id": code.client_id, "device_label": code.device_label} if code else {"found": False}


class User:
    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [pending]


async def test_hook_device_approvals(make_settings, backend):
    """A plugin reaches the service another plugin provides through the hook alone."""
    probes = {"approvals_user": User(), "approvals_provider": Provider()}
    async with probe_host(make_settings, probes) as ctx, probe_client(ctx) as client:
        assert (await client.get("/probe/pending/abcd-efgh")).json() == {
            "client_id": "difyctl", "device_label": "laptop",
        }
        assert (await client.get("/probe/pending/ZZZZ-ZZZZ")).json() == {"found": False}


async def test_device_approvals_without_a_provider(make_settings, backend):
    """Without a provider the hook answers None and the user can say so instead of crashing."""
    async with probe_host(make_settings, {"approvals_user": User()}) as ctx, probe_client(ctx) as client:
        response = await client.get("/probe/pending/abcd-efgh")
    assert response.status_code == 503
    assert response.json()["message"] == "no plugin provides device approvals"
