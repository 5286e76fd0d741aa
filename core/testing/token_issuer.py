"""A test plugin that issues bearer tokens for test subjects, so a plugin's tests need no login plugin.

``TokenIssuer`` is a real plugin object: its ``bearer_authenticators`` hook is registered through
``build_plugins(settings, probes)`` like any probe, and the shared ``host`` fixture makes it available
under ``TOKEN_ISSUER`` (add that name to ``plugins.enabled`` to use it). Its authenticators declare what
difyctl users meet: the ``dfoa_`` (account) and ``dfoe_`` (external SSO) prefixes, the surfaces a
wrong-surface answer names and the expired-token hint, so answers read as they do in production.

An account token names an account read from the database; the core bearer pipeline then takes its
workspaces and roles from the real membership tables, as for any token. Expiry and revocation are the
issuer's own (``expire``, ``revoke``): no test reaches into a login plugin's tables or state.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from core.auth.bearer import forget_token, hash_token
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, SCOPE_FULL, TokenRecord
from core.context import HostContext
from core.domain.models import Account
from core.hookspecs import hookimpl

TOKEN_ISSUER = "token_issuer"

ACCOUNT_PREFIX = "dfoa_"
EXTERNAL_PREFIX = "dfoe_"
ACCOUNT_SURFACE = "/openapi/v1/apps"
EXTERNAL_SURFACE = "/openapi/v1/permitted-external-apps"
EXPIRED_HINT = "Run 'difyctl auth login' to mint a fresh token."
EXTERNAL_SCOPES = ("apps:run", "apps:read:permitted-external")
ACCOUNT_ISSUER = "dify:account"
CLIENT_ID = "difyctl"
LIFETIME = 14 * 24 * 3600.0  # seconds, as long as a device-flow token lives


class IssuedTokenAuthenticator:
    """Resolves one prefix's issued tokens; a hard expiry (the pipeline saw the token expired) revokes."""

    expired_hint: str | None = EXPIRED_HINT

    def __init__(self, prefix: str, canonical_surface: str, records: dict[str, TokenRecord]) -> None:
        self.prefix = prefix
        self.canonical_surface = canonical_surface
        self.records = records
        self.expired: list[str] = []  # token ids, in the order the pipeline expired them

    async def resolve(self, token_hash: str) -> TokenRecord | None:
        return self.records.get(token_hash)

    async def expire(self, record: TokenRecord) -> None:
        self.expired.append(record.token_id)
        for token_hash in [h for h, r in self.records.items() if r.token_id == record.token_id]:
            del self.records[token_hash]


class TokenIssuer:
    """The plugin object: ``build_plugins(settings, {TOKEN_ISSUER: TokenIssuer()})``."""

    def __init__(self) -> None:
        self.records: dict[str, TokenRecord] = {}  # token hash -> record
        self.account = IssuedTokenAuthenticator(ACCOUNT_PREFIX, ACCOUNT_SURFACE, self.records)
        self.external = IssuedTokenAuthenticator(EXTERNAL_PREFIX, EXTERNAL_SURFACE, self.records)

    @hookimpl
    def bearer_authenticators(self) -> list[IssuedTokenAuthenticator]:
        return [self.account, self.external]

    async def account_token(
        self,
        host: HostContext,
        account_id: uuid.UUID | str,
        *,
        scopes: Sequence[str] = (SCOPE_FULL,),
        expires_in: float = LIFETIME,
    ) -> str:
        """A live ``dfoa_`` token of this account (read from the database); returns the plain token."""
        async with host.session() as session:
            account = await session.get(Account, uuid.UUID(str(account_id)))
        if account is None:
            raise LookupError(f"no account {account_id}: create it first (core.testing.factories.person)")
        return self._issue(ACCOUNT_PREFIX, ACCOUNT, scopes, account.email, ACCOUNT_ISSUER, str(account.id),
                           expires_in)

    def external_token(
        self,
        email: str = "partner@external.example",
        *,
        issuer: str = "https://idp.external.example",
        scopes: Sequence[str] = EXTERNAL_SCOPES,
        expires_in: float = LIFETIME,
    ) -> str:
        """A live ``dfoe_`` token of an SSO-verified email with no account; returns the plain token."""
        return self._issue(EXTERNAL_PREFIX, EXTERNAL_SSO, scopes, email, issuer, None, expires_in)

    def record_of(self, token: str) -> TokenRecord | None:
        """What the authenticator answers for this token (None once revoked or hard-expired)."""
        return self.records.get(hash_token(token))

    async def expire(self, host: HostContext, token: str) -> None:
        """Move the token's expiry into the past and drop its auth-cache entry (as if its lifetime and
        the cache's 60 s had both run out)."""
        token_hash = hash_token(token)
        record = self.records[token_hash]
        self.records[token_hash] = msgspec.structs.replace(record, expires_at=time.time() - 60)
        await forget_token(host.state, token_hash)

    async def revoke(self, host: HostContext, token: str) -> None:
        """Revoke the token as a logout does: it stops resolving and its auth-cache entry goes at once."""
        token_hash = hash_token(token)
        self.records.pop(token_hash, None)
        await forget_token(host.state, token_hash)

    def _issue(
        self,
        prefix: str,
        kind: str,
        scopes: Sequence[str],
        email: str,
        issuer: str,
        account_id: str | None,
        expires_in: float,
    ) -> str:
        token = prefix + secrets.token_urlsafe(32)
        self.records[hash_token(token)] = TokenRecord(
            token_id=str(uuid.uuid4()),
            prefix=prefix,
            kind=kind,
            scopes=list(scopes),
            subject_email=email,
            subject_issuer=issuer,
            account_id=account_id,
            client_id=CLIENT_ID,
            expires_at=time.time() + expires_in,
        )
        return token


def issuer_of(host: Any) -> TokenIssuer:
    """The host's TokenIssuer; a clear error if the test did not enable it."""
    issuer = host.plugins.manager.get_plugin(TOKEN_ISSUER)
    if not isinstance(issuer, TokenIssuer):
        raise LookupError(f"the {TOKEN_ISSUER!r} test plugin is not enabled: add it to plugins.enabled")
    return issuer


async def bearer_for(host: Any, account_id: uuid.UUID | str, **kw: Any) -> dict[str, str]:
    """``Authorization`` headers with a live ``dfoa_`` token of this account, from the host's issuer:
    the one-liner a plugin's test needs to call its bearer-guarded routes as that person."""
    return {"Authorization": f"Bearer {await issuer_of(host).account_token(host, account_id, **kw)}"}
