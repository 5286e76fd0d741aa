"""The public protocol side of RFC 8628: start a flow, poll it, look a user code up."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import structlog

from core.audit import AuditEvent
from core.auth.bearer import hash_token
from core.domain.ids import parse_uuid
from core.http.errors import RETRY_AFTER_SECONDS, OAuthError
from plugins.oauth_device.bodies import DeviceAuthorization, Lookup
from plugins.oauth_device.codes import new_device_code
from plugins.oauth_device.device_state import (
    APPROVED,
    DENIED,
    DEVICE_CODE_SHAPE,
    DEVICE_CODE_TTL,
    PENDING,
    POLL_INTERVAL,
    DeviceCodeState,
    code_hash,
)
from plugins.oauth_device.runtime import Runtime

log = structlog.get_logger("difyd.oauth_device")


def poll_error(code: str) -> OAuthError:
    # Every poll error is HTTP 400 with one of the four RFC codes: difyctl aborts on anything else.
    return OAuthError(400, code)


class DeviceFlow:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def start(
        self, *, client_id: str, device_label: str, ip: str, verification_base: str
    ) -> DeviceAuthorization:
        runtime = self.runtime
        device_code = new_device_code()
        hashed = code_hash(device_code)
        user_code = await runtime.store.claim_user_code(hashed)
        if user_code is None:
            raise OAuthError(503, "user_code_exhausted", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        now = runtime.now()
        state = DeviceCodeState(
            user_code=user_code,
            client_id=client_id,
            device_label=device_label,
            created_at=now,
            expires_at=now + DEVICE_CODE_TTL,
            created_ip=ip,
        )
        await runtime.store.create(hashed, state)
        verification_uri = verification_base.rstrip("/") + "/device"
        answer = DeviceAuthorization(
            device_code=device_code,
            user_code=user_code,
            verification_uri=verification_uri,
            expires_in=DEVICE_CODE_TTL,
            interval=POLL_INTERVAL,
        )
        if runtime.settings.verification_uri_complete:
            answer.verification_uri_complete = f"{verification_uri}?user_code={user_code}"
        return answer

    async def poll(self, device_code: str, client_ip: Callable[[], str]) -> dict[str, Any]:
        """One state-store round trip for a poll that comes too soon, two while pending (the slow-down
        marker, then the address's count and the state in one batch); an approved state costs a
        compare-and-delete and one SQL statement more. ``client_ip`` is only called for a poll that is
        on time (a too-soon one, most of a flood, never needs the address)."""
        runtime = self.runtime
        store = runtime.store
        if not DEVICE_CODE_SHAPE.fullmatch(device_code):
            raise poll_error("expired_token")  # never issued here: nothing is read or written
        hashed = code_hash(device_code)
        addresses: list[str] = []

        def ip() -> str:
            if not addresses:
                addresses.append(client_ip())
            return addresses[0]

        step = await store.poll_step(hashed, lambda: runtime.poll_bucket.count(ip()), runtime.poll_interval)
        if not step.on_time:
            raise poll_error("slow_down")
        if not runtime.poll_bucket.admitted(step.ip_polls):
            # RFC 8628's own back-off: difyctl doubles its interval instead of giving up (a 429 would
            # abort the login of every CLI behind a busy NAT).
            raise poll_error("slow_down")
        loaded = step.loaded()
        if loaded is None:
            raise poll_error("expired_token")
        state = loaded.state
        if state.status == PENDING:
            raise poll_error("authorization_pending")
        # Terminal: of N concurrent pollers exactly one deletes these exact bytes.
        if not await store.consume(hashed, loaded.raw):
            raise poll_error("expired_token")
        try:
            await store.retire_user_code(state.user_code)
        except Exception as exc:  # best effort: the key expires with the flow anyway
            log.warning("user_code_cleanup_failed", error_type=type(exc).__name__)
        if state.status == DENIED:
            raise poll_error("access_denied")
        if state.status != APPROVED:
            raise poll_error("expired_token")
        payload = store.open_payload(loaded)
        token = payload.get("token") if payload else None
        if not payload or not isinstance(token, str) or not token:
            log.error("approved_state_without_token")
            raise poll_error("expired_token")
        token_id = parse_uuid(str(payload.get("token_id", "")))
        delivered = token_id is not None and await runtime.tokens.deliver(
            token_id, hash_token(token), runtime.now_dt()
        )
        if not delivered:
            # Revoked (or rotated away) between approval and this poll.
            raise poll_error("access_denied")
        if state.created_ip and ip() != state.created_ip:
            await runtime.ctx.audit(
                AuditEvent(
                    "oauth.device_code_cross_ip_poll",
                    {"token_id": str(token_id), "creation_ip": state.created_ip, "poll_ip": ip()},
                )
            )
        return payload

    async def lookup(self, user_code: str, ip: str) -> tuple[Lookup, bool]:
        """The lookup body, and whether the code was known at all (unknown codes count as misses).

        ``ip`` is the address asking: a pending code's answer says whether the code was requested from
        the same one (a person approving their own CLI usually is; a phished one usually is not)."""
        loaded, remaining = await self.runtime.store.find(user_code, self.runtime.now())
        if loaded is None:
            known = await self.runtime.store.was_used(user_code)
            return Lookup(valid=False, expires_in_remaining=0, client_id=None, device_label=None), known
        state = loaded.state
        if remaining is None:  # known, but no longer pending: the client, never the device
            return Lookup(False, 0, client_id=state.client_id, device_label=None), True
        requested_at = datetime.datetime.fromtimestamp(state.created_at, datetime.UTC)
        body = Lookup(
            True,
            remaining,
            client_id=state.client_id,
            device_label=state.device_label,
            requested_at=requested_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
            requested_from=state.created_ip or None,
            requested_from_this_address=(state.created_ip == ip) if state.created_ip else None,
        )
        return body, True
