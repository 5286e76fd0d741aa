"""Services one plugin offers another, declared here as Protocols so plugins never import each other.

A provider implements a firstresult hook returning an object of the Protocol's shape; a user asks
the hook and fails at startup with a clear message when nothing provides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import msgspec


@dataclass(frozen=True, slots=True)
class PendingDeviceCode:
    """A device code still waiting for a decision, as the approval page and SSO flow see it."""

    user_code: str
    client_id: str
    device_label: str
    expires_in_remaining: int  # seconds


@dataclass(frozen=True, slots=True)
class ApprovalOutcome:
    """What an approval produced: the minted token's id and expiry (never the token itself)."""

    token_id: str
    expires_at: float  # epoch seconds


class DeviceApprovalError(Exception):
    """An approval that could not happen; ``code`` is the RFC 8628-style error the caller returns.

    Codes: ``expired_or_unknown`` (404), ``already_resolved`` / ``approve_in_progress`` /
    ``state_lost`` (409), ``approval_outcome_unknown`` (503).
    """

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


@runtime_checkable
class DeviceApprovals(Protocol):
    """Look up and approve pending device codes (``device_approvals`` hook; oauth_device provides it)."""

    async def lookup_pending(self, user_code: str) -> PendingDeviceCode | None:
        """The pending device code behind this user code (any spelling), or None."""

    async def approve_external(
        self, user_code: str, *, subject_email: str, subject_issuer: str
    ) -> ApprovalOutcome:
        """Mint a ``dfoe_`` token for an SSO subject and approve the code, or raise DeviceApprovalError."""


class ExternalApprovalContext(msgspec.Struct, frozen=True):
    """What the /device page shows a person back from their identity provider, before they approve:
    the answer of ``ExternalSignInRoutes.context``."""

    subject_email: str
    subject_issuer: str
    user_code: str
    csrf_token: str  # sent back as X-CSRF-Token with the approval
    expires_at: float  # epoch seconds: when this sign-in stops admitting an approval


@dataclass(frozen=True, slots=True)
class ExternalSignInRoutes:
    """Where the /device page sends a person who signs in through an identity provider."""

    start: str  # a full-page GET with ?user_code=<code>, answered by a redirect to the identity provider
    context: str  # GET, with the browser's credentials: the ExternalApprovalContext of who came back
    approve: str  # POST {"user_code": ...} with X-CSRF-Token: the context's csrf_token


@runtime_checkable
class ExternalSignIn(Protocol):
    """Single sign-on for people without an account here (``external_sign_in`` hook; an enterprise
    plugin provides it). The /device page offers it only while ``routes()`` answers."""

    async def routes(self) -> ExternalSignInRoutes | None:
        """The routes while external sign-in is available (licensed and configured), else None."""
