"""Approving and denying a pending device code: guard, mint, compare-and-set, compensation.

Approval (U hardening): an owner-checked guard per (subject, client, device) for 60 s; the state
re-loaded under it; the token minted or rotated in one transaction; the approval published with a
compare-and-set on the exact bytes read. A lost compare-and-set undoes the mint (no orphan live
token); a publish whose outcome cannot be confirmed answers 503 ``approval_outcome_unknown``.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog

from core.audit import AuditEvent
from core.auth.bearer import forget_token, hash_token
from core.services import ApprovalOutcome, DeviceApprovalError, PendingDeviceCode
from plugins.oauth_device.authenticator import VARIANTS, Variant
from plugins.oauth_device.codes import ACCOUNT_PREFIX, EXTERNAL_PREFIX, new_token
from plugins.oauth_device.device_state import (
    APPROVED,
    APPROVED_MIN_TTL,
    DENIED,
    DENIED_MIN_TTL,
    PENDING,
    Loaded,
    encode_state,
)
from plugins.oauth_device.models import ACCOUNT_ISSUER
from plugins.oauth_device.payloads import account_poll_payload, external_poll_payload
from plugins.oauth_device.runtime import Runtime
from plugins.oauth_device.tokens import Minted

log = structlog.get_logger("difyd.oauth_device")

# Longer than any approval can take with every wait bounded (a few seconds), short enough that a guard
# left behind by an approval whose store failed (released in the background, or not at all) does not
# block a retry for long.
GUARD_TTL = 15
_BACKGROUND: set[asyncio.Task[None]] = set()


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` without waiting for it (a reference is kept until it ends)."""
    task = asyncio.ensure_future(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def expired_or_unknown() -> DeviceApprovalError:
    return DeviceApprovalError("expired_or_unknown", 404)


def already_resolved() -> DeviceApprovalError:
    return DeviceApprovalError("already_resolved", 409)


def state_lost() -> DeviceApprovalError:
    return DeviceApprovalError("state_lost", 409)


def guard_key(email: str, issuer: str, client_id: str, device_label: str) -> str:
    digest = hashlib.sha256("\0".join((email, issuer, client_id, device_label)).encode()).hexdigest()
    return f"oauth_device:approval_guard:{digest}"


@dataclass(frozen=True, slots=True)
class MintSubject:
    """Who the token is for, and how to render the poll payload for them."""

    variant: Variant  # the token prefix, subject kind and scopes
    email: str
    issuer: str
    account_id: uuid.UUID | None
    preferred_workspace: uuid.UUID | None = None


PayloadBuilder = Callable[[str, Minted], Awaitable[dict[str, Any]]]


class DeviceApprovalService:
    """Implements ``core.services.DeviceApprovals`` and the account branch's approve and deny."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.state = runtime.ctx.state

    async def lookup_pending(self, user_code: str) -> PendingDeviceCode | None:
        loaded, remaining = await self.runtime.store.find(user_code, self.runtime.now())
        if loaded is None or remaining is None:
            return None
        state = loaded.state  # its user_code is the normalised key it was found under
        return PendingDeviceCode(state.user_code, state.client_id, state.device_label, remaining)

    async def _pending(self, user_code: str) -> Loaded:
        loaded, remaining = await self.runtime.store.find(user_code, self.runtime.now())
        if loaded is None:
            if await self.runtime.store.was_used(user_code):
                raise already_resolved()  # its device has its answer: a late click, not a guess
            raise expired_or_unknown()
        if remaining is None:
            raise already_resolved()
        return loaded

    async def approve_account(
        self,
        user_code: str,
        *,
        account_id: uuid.UUID,
        email: str,
        active_workspace: uuid.UUID | None,
    ) -> ApprovalOutcome:
        subject = MintSubject(VARIANTS[ACCOUNT_PREFIX], email, ACCOUNT_ISSUER, account_id, active_workspace)
        return await self._approve(user_code, subject)

    async def approve_external(
        self, user_code: str, *, subject_email: str, subject_issuer: str
    ) -> ApprovalOutcome:
        if not subject_issuer.strip():
            raise DeviceApprovalError("mint_policy_violation", 400)
        subject = MintSubject(VARIANTS[EXTERNAL_PREFIX], subject_email, subject_issuer, None)
        return await self._approve(user_code, subject)

    async def _approve(self, user_code: str, subject: MintSubject) -> ApprovalOutcome:
        loaded = await self._pending(user_code)
        key = guard_key(subject.email, subject.issuer, loaded.state.client_id, loaded.state.device_label)
        owner = secrets.token_hex(16).encode()
        if not await self.state.set_if_absent(key, owner, ttl=GUARD_TTL):
            raise DeviceApprovalError("approve_in_progress", 409)
        store_failing = False
        try:
            # Under the guard, read again: another approval may have finished in between.
            current = await self.runtime.store.load_by_user_code(loaded.state.user_code)
            if current is None or current.code_hash != loaded.code_hash:
                raise state_lost()
            if current.state.status != PENDING:
                raise already_resolved()
            minted, token = await self._mint(current, subject)
            await self._publish(current, minted, token, subject)
        except DeviceApprovalError as exc:
            store_failing = exc.status == 503
            raise
        finally:
            if store_failing:
                # Answer now; release the guard in the background (or let it expire) rather than
                # make the approver wait out one more timeout of a failing store.
                _in_background(self._release_guard(key, owner))
            else:
                await self._release_guard(key, owner)
        await self._audit_approved(current, minted, subject)
        return ApprovalOutcome(str(minted.token_id), minted.expires_at.timestamp())

    async def _release_guard(self, key: str, owner: bytes) -> None:
        try:
            await self.state.compare_and_delete(key, owner)
        except Exception as exc:  # the guard expires on its own; the approval stands
            log.warning("approval_guard_release_failed", error_type=type(exc).__name__)

    async def _mint(self, current: Loaded, subject: MintSubject) -> tuple[Minted, str]:
        runtime = self.runtime
        now = runtime.now_dt()
        token = new_token(subject.variant.prefix)
        minted = await runtime.tokens.mint(
            prefix=subject.variant.prefix,
            token_hash=hash_token(token),
            subject_email=subject.email,
            subject_issuer=subject.issuer,
            account_id=subject.account_id,
            client_id=current.state.client_id,
            device_label=current.state.device_label,
            now=now,
            expires_at=now + datetime.timedelta(days=runtime.settings.effective_ttl_days),
        )
        if minted.predecessor is not None:
            # The rotated-out token must stop working now, not when its cache entry ages out.
            await forget_token(self.state, minted.predecessor.token_hash)
        return minted, token

    async def _payload(self, token: str, minted: Minted, subject: MintSubject) -> dict[str, Any]:
        if subject.account_id is None:
            return external_poll_payload(
                token=token,
                token_id=minted.token_id,
                expires_at=minted.expires_at,
                subject_email=subject.email,
                subject_issuer=subject.issuer,
            )
        async with self.runtime.ctx.session_maker() as session:
            return await account_poll_payload(
                session,
                token=token,
                token_id=minted.token_id,
                expires_at=minted.expires_at,
                account_id=subject.account_id,
                preferred_workspace=subject.preferred_workspace,
            )

    async def _publish(self, current: Loaded, minted: Minted, token: str, subject: MintSubject) -> None:
        """pending -> approved with the sealed payload; undo the mint when someone else's transition won.

        A compare-and-set from the same expected value cannot land twice, so every doubt is settled by
        writing the same bytes again and reading the state back: ours (the first write landed and its
        answer was lost) -> approved; someone else's -> undo and ``state_lost``; unreachable -> 503
        ``approval_outcome_unknown`` without compensation (if the write did land, the poll delivers the
        token; if not, nobody ever receives it and the sweeper revokes it). A token a poll already
        received is never undone: that approval went through.
        """
        marker = f"transition:{uuid.uuid4().hex}:{minted.token_id}"
        try:
            payload = await self._payload(token, minted, subject)
        except Exception:
            await self._undo(minted)
            raise
        store = self.runtime.store
        approved = msgspec.structs.replace(
            current.state,
            status=APPROVED,
            token_id=marker,
            sealed_payload=store.seal_payload(current.code_hash, payload),
        )
        new_raw = encode_state(approved)
        try:
            first_try = await store.write_over(current, new_raw, APPROVED_MIN_TTL)
        except Exception as exc:
            log.warning("approval_publish_unconfirmed", error_type=type(exc).__name__)
            first_try = None
        published = first_try or await self._settle(current, new_raw, minted, write_again=first_try is None)
        if published:
            return
        if await self._undo(minted) or not await self.runtime.tokens.delivered(minted):
            raise state_lost()
        # Not undone because a poll already received the token: the approval did go through.

    async def _settle(self, current: Loaded, new_raw: bytes, minted: Minted, *, write_again: bool) -> bool:
        """Whether the state holds our approval: write the same bytes again when the first answer was
        lost, then read the state back. Unreachable -> 503 ``approval_outcome_unknown`` (audited)."""
        try:
            if write_again and await self.runtime.store.write_over(current, new_raw, APPROVED_MIN_TTL):
                return True
            reread = await self.runtime.store.load(current.code_hash)
        except Exception as exc:
            log.error("approval_outcome_unknown", error_type=type(exc).__name__)
            await self.runtime.ctx.audit(
                AuditEvent(
                    "oauth.device_flow_approval_unknown",
                    {
                        "token_id": str(minted.token_id),
                        "client_id": current.state.client_id,
                        "device_label": current.state.device_label,
                    },
                )
            )
            raise DeviceApprovalError("approval_outcome_unknown", 503) from exc
        return reread is not None and reread.raw == new_raw

    async def _undo(self, minted: Minted) -> bool:
        """Compensation: drop the minted row or restore its predecessor; True when it was undone."""
        try:
            undone = await self.runtime.tokens.undo_mint(minted)
        except Exception as exc:
            log.error(
                "approval_compensation_failed", token_id=str(minted.token_id), error_type=type(exc).__name__
            )
            return False
        await forget_token(self.state, minted.token_hash)
        if undone:
            await self.runtime.ctx.audit(
                AuditEvent("oauth.token_mint_rolled_back", {"token_id": str(minted.token_id)})
            )
        return undone

    async def _audit_approved(self, current: Loaded, minted: Minted, subject: MintSubject) -> None:
        common = {
            "token_id": str(minted.token_id),
            "subject_type": subject.variant.kind,
            "client_id": current.state.client_id,
            "device_label": current.state.device_label,
        }
        await self.runtime.ctx.audit(
            AuditEvent("oauth.token_rotated" if minted.rotated else "oauth.token_minted", common)
        )
        await self.runtime.ctx.audit(
            AuditEvent(
                "oauth.device_flow_approved",
                {
                    **common,
                    "subject_email": subject.email,
                    "account_id": str(subject.account_id) if subject.account_id else None,
                    "tenant_id": str(subject.preferred_workspace) if subject.preferred_workspace else None,
                    "scopes": list(subject.variant.scopes),
                    "expires_at": minted.expires_at.isoformat(),
                },
            )
        )

    async def deny(self, user_code: str, *, account_id: uuid.UUID) -> None:
        loaded = await self._pending(user_code)
        denied = msgspec.structs.replace(loaded.state, status=DENIED, sealed_payload=None)
        if not await self.runtime.store.transition(loaded, denied, DENIED_MIN_TTL):
            raise state_lost()
        await self.runtime.ctx.audit(
            AuditEvent(
                "oauth.device_flow_denied",
                {
                    "client_id": loaded.state.client_id,
                    "device_label": loaded.state.device_label,
                    "account_id": str(account_id),
                },
            )
        )
