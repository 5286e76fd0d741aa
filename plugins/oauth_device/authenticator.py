"""Bearer authenticators for ``dfoa_`` (accounts) and ``dfoe_`` (external SSO identities)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from core.audit import AuditEvent
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, SCOPE_FULL, TokenRecord
from core.context import HostContext
from plugins.oauth_device.codes import ACCOUNT_PREFIX, EXTERNAL_PREFIX
from plugins.oauth_device.runtime import runtime_of
from plugins.oauth_device.usage import record_use

log = structlog.get_logger("difyd.oauth_device")

EXTERNAL_SCOPES = ["apps:run", "apps:read:permitted-external"]
# What difyctl users are told when their token has expired.
EXPIRED_HINT = "Run 'difyctl auth login' to mint a fresh token."


@dataclass(frozen=True, slots=True)
class Variant:
    """What a prefix promises about its rows: the subject kind, its scopes, whether it has an account,
    and the surface its subjects belong on."""

    prefix: str
    kind: str
    scopes: tuple[str, ...]
    has_account: bool
    canonical_surface: str


VARIANTS = {
    ACCOUNT_PREFIX: Variant(ACCOUNT_PREFIX, ACCOUNT, (SCOPE_FULL,), True, "/openapi/v1/apps"),
    EXTERNAL_PREFIX: Variant(
        EXTERNAL_PREFIX, EXTERNAL_SSO, tuple(EXTERNAL_SCOPES), False, "/openapi/v1/permitted-external-apps"
    ),
}


class AccessTokenAuthenticator:
    """Resolves one prefix's tokens with one SQL row read; scopes come from the prefix, never storage."""

    def __init__(self, ctx: HostContext, variant: Variant) -> None:
        self.ctx = ctx
        self.variant = variant
        self.prefix = variant.prefix
        self.canonical_surface = variant.canonical_surface
        self.expired_hint: str | None = EXPIRED_HINT

    async def resolve(self, token_hash: str) -> TokenRecord | None:
        runtime = runtime_of(self.ctx)
        row = await runtime.tokens.find_by_hash(token_hash)
        if row is None:
            return None
        token_id, prefix, email, issuer, account_id, client_id, expires_at = row
        if prefix != self.prefix or (account_id is not None) != self.variant.has_account:
            log.error("internal_state_invariant", token_id=str(token_id), prefix=prefix)
            return None
        await record_use(runtime.ctx.state, str(token_id), runtime.now())
        return TokenRecord(
            token_id=str(token_id),
            prefix=prefix,
            kind=self.variant.kind,
            scopes=list(self.variant.scopes),
            subject_email=email,
            subject_issuer=issuer,
            account_id=str(account_id) if account_id else None,
            client_id=client_id,
            expires_at=expires_at.timestamp(),
        )

    async def expire(self, record: TokenRecord) -> None:
        runtime = runtime_of(self.ctx)
        if await runtime.tokens.expire(uuid.UUID(record.token_id), runtime.now_dt()):
            await self.ctx.audit(
                AuditEvent(
                    "oauth.token_expired",
                    {
                        "token_id": record.token_id,
                        "subject_type": record.kind,
                        "subject_email": record.subject_email,
                        "client_id": record.client_id,
                    },
                )
            )

