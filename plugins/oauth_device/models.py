"""The ``oauth_access_tokens`` table: one row per device session; only the SHA-256 of a token is kept."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import UUIDv7Base

ACCOUNT_ISSUER = "dify:account"
LIVE = text("revoked_at IS NULL")
UNDELIVERED = text("delivered_at IS NULL AND revoked_at IS NULL")


class OAuthAccessToken(UUIDv7Base):
    __tablename__ = "oauth_access_tokens"
    __table_args__ = (
        Index("idx_oauth_subject_email", "subject_email", sqlite_where=LIVE, postgresql_where=LIVE),
        Index("idx_oauth_client", "subject_email", "client_id", sqlite_where=LIVE, postgresql_where=LIVE),
        Index(
            "idx_oauth_account",
            "account_id",
            sqlite_where=text("revoked_at IS NULL AND account_id IS NOT NULL"),
            postgresql_where=text("revoked_at IS NULL AND account_id IS NOT NULL"),
        ),
        # One live token per (subject, client, device): the rotate-in-place key.
        Index(
            "uq_oauth_active_per_device",
            "subject_email",
            "subject_issuer",
            "client_id",
            "device_label",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index("ix_oauth_expires_at", "expires_at"),
        # Tokens minted for an approval whose poll never came: the sweeper revokes them.
        Index("ix_oauth_undelivered", "created_at", sqlite_where=UNDELIVERED, postgresql_where=UNDELIVERED),
    )

    subject_email: Mapped[str] = mapped_column(Text)
    subject_issuer: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(64))
    device_label: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Set by the poll that hands the token to its device. Until then the token neither authenticates
    # nor lists as a session: an approval whose outcome was lost leaves nothing usable behind.
    delivered_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True))
