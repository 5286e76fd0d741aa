"""Who is calling: the Subject a bearer token resolves to, and the scope rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

ACCOUNT = "account"
EXTERNAL_SSO = "external_sso"
SCOPE_FULL = "full"

class TokenRecord(msgspec.Struct):
    """What an authenticator knows about a token; cached (JSON) for the positive TTL."""

    token_id: str
    prefix: str
    kind: str
    scopes: list[str]
    subject_email: str
    subject_issuer: str | None
    account_id: str | None
    client_id: str
    expires_at: float | None  # epoch seconds


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    scopes: frozenset[str]
    token_id: str
    token_hash: str
    prefix: str
    subject_email: str
    subject_issuer: str | None
    account_id: str | None
    client_id: str
    expires_at: float | None
    memberships: dict[str, str] = field(default_factory=dict)  # workspace id -> role

    def has_scope(self, scope: str) -> bool:
        """``full`` satisfies any scope on its own surface."""
        return SCOPE_FULL in self.scopes or scope in self.scopes
