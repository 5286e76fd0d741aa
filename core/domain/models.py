"""Core domain tables, named as Dify names them: the data every plugin reads."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import UUIDv7AuditBase


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    BANNED = "banned"
    CLOSED = "closed"


class WorkspaceStatus(enum.StrEnum):
    NORMAL = "normal"
    ARCHIVE = "archive"


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    NORMAL = "normal"
    DATASET_OPERATOR = "dataset_operator"


class AppMode(enum.StrEnum):
    COMPLETION = "completion"
    WORKFLOW = "workflow"
    CHAT = "chat"
    ADVANCED_CHAT = "advanced-chat"
    AGENT_CHAT = "agent-chat"
    CHANNEL = "channel"
    RAG_PIPELINE = "rag-pipeline"


# The five modes users create and the API lists; the other two are internal to Dify.
USER_FACING_MODES = (
    AppMode.COMPLETION,
    AppMode.WORKFLOW,
    AppMode.CHAT,
    AppMode.ADVANCED_CHAT,
    AppMode.AGENT_CHAT,
)


class AppStatus(enum.StrEnum):
    NORMAL = "normal"
    ARCHIVED = "archived"


class Account(UUIDv7AuditBase):
    __tablename__ = "accounts"
    __table_args__ = (Index("uq_accounts_email_lower", func.lower("email"), unique=True),)

    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    # Console sessions (cookies) issued before this instant no longer sign in: set by an admin's
    # ``accounts end-sessions`` and by a new password. The cookies themselves are stateless JWTs.
    sessions_revoked_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), default=None
    )


class Workspace(UUIDv7AuditBase):
    """A Dify tenant. An archived one (``difyd workspaces archive``) keeps its data but is hidden from
    its members, as in Dify: not listed, not current, no role in it for bearer tokens or the console."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=WorkspaceStatus.NORMAL.value)


def workspace_in_use() -> ColumnElement[bool]:
    """SQL: the workspace is not archived (every read of "the account's workspaces" adds this)."""
    return Workspace.status == WorkspaceStatus.NORMAL.value


class Membership(UUIDv7AuditBase):
    """A Dify tenant_account_join: an account's role in a workspace and whether it is its current one."""

    __tablename__ = "tenant_account_joins"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id", name="uq_tenant_account_joins"),
        Index("ix_tenant_account_joins_account", "account_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32), default=MemberRole.NORMAL.value)
    current: Mapped[bool] = mapped_column(Boolean, default=False)


class App(UUIDv7AuditBase):
    __tablename__ = "apps"
    __table_args__ = (Index("ix_apps_tenant_created", "tenant_id", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    mode: Mapped[str] = mapped_column(String(32))
    icon: Mapped[str] = mapped_column(String(255), default="🤖", server_default="")
    icon_background: Mapped[str] = mapped_column(String(32), default="#FFEAD5", server_default="")
    enable_api: Mapped[bool] = mapped_column(Boolean, default=True)
    is_universal: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=AppStatus.NORMAL.value)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    # The app's configuration document: for chat/agent-chat/completion the model config
    # (opening_statement, user_input_form, feature toggles ...); for workflow/advanced-chat
    # {"features": {...}, "graph": {"nodes": [...]}}. The describe `parameters` block derives from it.
    config: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)


class Tag(UUIDv7AuditBase):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tenant_type_name", "tenant_id", "type", "name"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16), default="app")
    name: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )


class TagBinding(UUIDv7AuditBase):
    __tablename__ = "tag_bindings"
    __table_args__ = (
        UniqueConstraint("tag_id", "target_id", name="uq_tag_bindings_tag_target"),
        Index("ix_tag_bindings_target", "target_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
