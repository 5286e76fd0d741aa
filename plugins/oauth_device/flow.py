"""The public protocol side of RFC 8628: start a flow, poll it, look a user code up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from core.audit import AuditEvent
from core.auth.bearer import hash_token
from core.http.errors import OAuthError
from plugins.oauth_device.codes import new_device_code
from plugins.oauth_device.device_state import (
    APPROVED,
    DENIED,
    DEVICE_CODE_TTL,
    PENDING,
    POLL_INTERVAL,
    DeviceCodeState,
)
from plugins.oauth_device.runtime import Runtime
from plugins.oauth_device.tokens import parse_uuid

log = structlog.get_logger("difyd.oauth_device")


def poll_error(code: str) -> OAuthError:
    # Every poll error is HTTP 400 with one of the four RFC codes: difyctl aborts on anything else.
    return OAuthError(400, code)


class DeviceFlow:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def start(
        self, *, client_id: str, device_label: str, ip: str, verification_base: str
    ) -> dict[str, Any]:
        runtime = self.runtime
        device_code = new_device_code()
        user_code = await runtime.store.claim_user_code(device_code)
        if user_code is None:
            raise OAuthError(503, "user_code_exhausted")
        now = runtime.now()
        state = DeviceCodeState(
            user_code=user_code,
            client_id=client_id,
            device_label=device_label,
            created_at=now,
            expires_at=now + DEVICE_CODE_TTL,
            created_ip=ip,
        )
        await runtime.store.create(device_code, state)
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_base.rstrip("/") + "/device",
            "expires_in": DEVICE_CODE_TTL,
            "interval": POLL_INTERVAL,
        }

    async def poll(self, device_code: str, client_ip: Callable[[], str]) -> dict[str, Any]:
        """At most two state-store calls while pending: the slow-down exchange and one read.

        ``client_ip`` is only called for a successful poll (the cross-IP audit): most polls are
        slow_down / pending answers that never need the address.
        """
        runtime = self.runtime
        store = runtime.store
        now = runtime.now()
        previous = await store.touch_poll(device_code, now)
        if previous is not None and now - previous < POLL_INTERVAL:
            raise poll_error("slow_down")
        loaded = await store.load(device_code)  # one read: a missing or corrupt state is None
        if loaded is None:
            raise poll_error("expired_token")
        state = loaded.state
        if state.status == PENDING:
            raise poll_error("authorization_pending")
        # Terminal: of N concurrent pollers exactly one deletes these exact bytes.
        if not await store.consume(device_code, loaded.raw):
            raise poll_error("expired_token")
        try:
            await store.forget_user_code(state.user_code)
        except Exception as exc:  # best effort: the key expires with the flow anyway
            log.warning("user_code_cleanup_failed", error_type=type(exc).__name__)
        if state.status == DENIED:
            raise poll_error("access_denied")
        if state.status != APPROVED:
            raise poll_error("expired_token")
        payload = state.poll_payload
        token = payload.get("token") if payload else None
        if not payload or not isinstance(token, str) or not token:
            log.error("approved_state_without_token")
            raise poll_error("expired_token")
        token_id = parse_uuid(str(payload.get("token_id", "")))
        if token_id is None or not await runtime.tokens.is_live(
            token_id, hash_token(token), runtime.now_dt()
        ):
            # Revoked (or rotated away) between approval and this poll.
            raise poll_error("access_denied")
        if state.created_ip and (ip := client_ip()) != state.created_ip:
            await runtime.ctx.audit(
                AuditEvent(
                    "oauth.device_code_cross_ip_poll",
                    {"token_id": str(token_id), "creation_ip": state.created_ip, "poll_ip": ip},
                )
            )
        return payload

    async def lookup(self, user_code: str) -> tuple[dict[str, Any], bool]:
        """The lookup body, and whether the code was known at all (unknown codes count as misses)."""
        loaded, remaining = await self.runtime.store.find(user_code, self.runtime.now())
        if loaded is None:
            return {"valid": False, "expires_in_remaining": 0, "client_id": None, "device_label": None}, False
        state = loaded.state
        if remaining is None:
            return {
                "valid": False,
                "expires_in_remaining": 0,
                "client_id": state.client_id,
                "device_label": None,
            }, True
        return {
            "valid": True,
            "expires_in_remaining": remaining,
            "client_id": state.client_id,
            "device_label": state.device_label,
        }, True
