"""Identity bodies: the poll success payload (§1.3) and GET /account (§1.11)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.models import Account, Membership, Workspace, workspace_in_use


def iso_offset(value: datetime.datetime) -> str:
    """Python isoformat with microseconds and ``+00:00`` (what difyctl stores from the poll)."""
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def iso_z(value: datetime.datetime | None) -> str | None:
    """``2026-05-01T10:00:00.123456Z`` (the sessions list)."""
    if value is None:
        return None
    # isoformat with fixed microseconds is the same text as strftime("%Y-%m-%dT%H:%M:%S.%fZ"), faster.
    return value.astimezone(datetime.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


async def account_identity(
    session: AsyncSession, account_id: uuid.UUID, preferred_workspace: uuid.UUID | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, str]], str | None]:
    """``account``, ``workspaces`` (with roles) and ``default_workspace_id`` for one account.

    The default is the preferred (approver's active) workspace when the account is a member, else
    the join flagged current, else the first join, else None.
    """
    account = await session.get(Account, account_id)
    rows = (
        await session.execute(
            select(Workspace.id, Workspace.name, Membership.role, Membership.current)
            .join(Membership, Membership.tenant_id == Workspace.id)
            .where(Membership.account_id == account_id, workspace_in_use())
            .order_by(Membership.created_at, Workspace.id)
        )
    ).all()
    workspaces = [{"id": str(ws_id), "name": name, "role": role} for ws_id, name, role, _ in rows]
    ids = [ws_id for ws_id, _, _, _ in rows]
    if preferred_workspace is not None and preferred_workspace in ids:
        default: uuid.UUID | None = preferred_workspace
    else:
        default = next((ws_id for ws_id, _, _, current in rows if current), ids[0] if ids else None)
    body = None if account is None else {"id": str(account.id), "email": account.email, "name": account.name}
    return body, workspaces, str(default) if default else None


async def account_poll_payload(
    session: AsyncSession,
    *,
    token: str,
    token_id: uuid.UUID,
    expires_at: datetime.datetime,
    account_id: uuid.UUID,
    preferred_workspace: uuid.UUID | None,
) -> dict[str, Any]:
    account, workspaces, default = await account_identity(session, account_id, preferred_workspace)
    return {
        "token": token,
        # RFC 6749 §5.1 names, as harmless extras for generic OAuth clients.
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": iso_offset(expires_at),
        "subject_type": "account",
        "account": account,
        "workspaces": workspaces,
        "default_workspace_id": default,
        "token_id": str(token_id),
    }


def external_poll_payload(
    *, token: str, token_id: uuid.UUID, expires_at: datetime.datetime, subject_email: str, subject_issuer: str
) -> dict[str, Any]:
    # No "account" key at all: difyctl 0.1.0-rc.1 crashes on "account": null.
    return {
        "token": token,
        "access_token": token,
        "token_type": "Bearer",
        "expires_at": iso_offset(expires_at),
        "subject_type": "external_sso",
        "subject_email": subject_email,
        "subject_issuer": subject_issuer,
        "workspaces": [],
        "default_workspace_id": None,
        "token_id": str(token_id),
    }
