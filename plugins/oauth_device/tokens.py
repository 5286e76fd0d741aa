"""Storage of access tokens: mint/rotate in place, compensation, revoke, expire, sessions, purge.

Only the SHA-256 hex of a token is stored. One live row per (subject_email, subject_issuer,
client_id, device_label); a re-login from the same device rotates that row in place (same id).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Integer, Select, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from uuid_utils import uuid7

from core.db.affected import affected
from plugins.oauth_device.models import OAuthAccessToken

TABLE = cast(Table, OAuthAccessToken.__table__)
ROTATION_KEY = ("subject_email", "subject_issuer", "client_id", "device_label")
PURGE_BATCH = 500


@dataclass(frozen=True, slots=True)
class Predecessor:
    """The live row's values before a rotation overwrote them (what compensation restores)."""

    token_hash: str | None
    prefix: str
    account_id: uuid.UUID | None
    created_at: datetime.datetime
    last_used_at: datetime.datetime | None
    expires_at: datetime.datetime
    delivered_at: datetime.datetime | None


@dataclass(frozen=True, slots=True)
class Minted:
    token_id: uuid.UUID
    token_hash: str
    expires_at: datetime.datetime
    predecessor: Predecessor | None

    @property
    def rotated(self) -> bool:
        return self.predecessor is not None


@dataclass(frozen=True, slots=True)
class Subject:
    """Whose tokens: an account (account_id set) or an external SSO identity (email + issuer)."""

    email: str
    issuer: str | None
    account_id: uuid.UUID | None

    @property
    def shape(self) -> str:
        """Which ``_owned_by`` statement shape fits this subject (see ``params`` for its values)."""
        if self.account_id is not None:
            return BY_ACCOUNT
        return BY_ISSUER if self.issuer is not None else BY_NO_ISSUER

    def params(self) -> dict[str, Any]:
        """The bound values of ``_owned_by(self.shape)``."""
        if self.account_id is not None:
            return {"owner_account_id": self.account_id}
        if self.issuer is not None:
            return {"owner_email": self.email, "owner_issuer": self.issuer}
        return {"owner_email": self.email}


# -- hot reads ----------------------------------------------------------------------------------------
#
# Built once per shape (account owner, SSO owner with or without an issuer) with bound parameters, and
# run on a Core connection without a transaction: SQLAlchemy's compiled cache hits on every request and
# no ORM session, BEGIN or ROLLBACK is involved. Each is a single statement (at READ COMMITTED a
# transaction adds nothing).

BY_ACCOUNT = "account"
BY_ISSUER = "issuer"
BY_NO_ISSUER = "no_issuer"  # a None issuer is compared as IS NULL; a bound NULL would match nothing

_OWNER_ACCOUNT = bindparam("owner_account_id", type_=TABLE.c.account_id.type)
_OWNER_EMAIL = bindparam("owner_email", type_=TABLE.c.subject_email.type)
_OWNER_ISSUER = bindparam("owner_issuer", type_=TABLE.c.subject_issuer.type)
_TOKEN_ID = bindparam("token_id", type_=TABLE.c.id.type)
_NOW = bindparam("now", type_=TABLE.c.expires_at.type)
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)


def _owned_by(shape: str) -> Any:
    """The rows a subject owns, with bound parameters instead of values (see ``Subject.params``)."""
    if shape == BY_ACCOUNT:
        return TABLE.c.account_id == _OWNER_ACCOUNT
    issuer = TABLE.c.subject_issuer
    issued = issuer == _OWNER_ISSUER if shape == BY_ISSUER else issuer.is_(None)
    return and_(TABLE.c.subject_email == _OWNER_EMAIL, issued, TABLE.c.account_id.is_(None))


def _live_of(shape: str) -> Any:
    return and_(
        _owned_by(shape),
        TABLE.c.revoked_at.is_(None),
        TABLE.c.token_hash.is_not(None),
        TABLE.c.delivered_at.is_not(None),
        TABLE.c.expires_at > _NOW,
    )


@cache
def _sessions_count_statement(shape: str) -> Select[Any]:
    return select(func.count()).select_from(TABLE).where(_live_of(shape))


@cache
def _sessions_page_statement(shape: str) -> Select[Any]:
    # Column order is the wire row's (routes/account.py unpacks by position).
    return (
        select(
            TABLE.c.id,
            TABLE.c.prefix,
            TABLE.c.client_id,
            TABLE.c.device_label,
            TABLE.c.created_at,
            TABLE.c.last_used_at,
            TABLE.c.expires_at,
        )
        .where(_live_of(shape))
        .order_by(TABLE.c.created_at.desc(), TABLE.c.id.desc())
        .offset(_OFFSET)
        .limit(_LIMIT)
    )


@cache
def _owned_statement(shape: str) -> Select[Any]:
    return select(TABLE.c.id).where(TABLE.c.id == _TOKEN_ID, _owned_by(shape))


_TOKEN_HASH = bindparam("token_hash", type_=TABLE.c.token_hash.type)

# The poll's hand-over: only the row's current, unrevoked, unexpired token is marked delivered.
_DELIVER = (
    update(TABLE)
    .where(
        TABLE.c.id == bindparam("delivered_id", type_=TABLE.c.id.type),
        TABLE.c.token_hash == bindparam("delivered_hash", type_=TABLE.c.token_hash.type),
        TABLE.c.revoked_at.is_(None),
        TABLE.c.expires_at > bindparam("delivered_at_now", type_=TABLE.c.expires_at.type),
    )
    .values(
        delivered_at=func.coalesce(
            TABLE.c.delivered_at, bindparam("delivered_now", type_=TABLE.c.delivered_at.type)
        )
    )
    .returning(TABLE.c.id)
)

# Column order is what the bearer authenticator unpacks.
_BY_HASH = select(
    TABLE.c.id,
    TABLE.c.prefix,
    TABLE.c.subject_email,
    TABLE.c.subject_issuer,
    TABLE.c.account_id,
    TABLE.c.client_id,
    TABLE.c.expires_at,
).where(TABLE.c.token_hash == _TOKEN_HASH, TABLE.c.revoked_at.is_(None), TABLE.c.delivered_at.is_not(None))


def _lock_id(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for one rotation key."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _upsert(dialect: str) -> Any:
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class TokenRepository:
    def __init__(self, session_maker: async_sessionmaker[AsyncSession], reads: AsyncEngine) -> None:
        """``reads`` is the host's autocommit engine (``HostContext.reads``), for single-statement reads."""
        self.session_maker = session_maker
        self.reads = reads

    async def mint(
        self,
        *,
        prefix: str,
        token_hash: str,
        subject_email: str,
        subject_issuer: str,
        account_id: uuid.UUID | None,
        client_id: str,
        device_label: str,
        now: datetime.datetime,
        expires_at: datetime.datetime,
    ) -> Minted:
        """Insert, or rotate the live row for this device in place, in one transaction."""
        key = and_(
            TABLE.c.subject_email == subject_email,
            TABLE.c.subject_issuer == subject_issuer,
            TABLE.c.client_id == client_id,
            TABLE.c.device_label == device_label,
            TABLE.c.revoked_at.is_(None),
        )
        async with self.session_maker() as session, session.begin():
            dialect = session.bind.dialect.name
            if dialect == "postgresql":
                # Concurrent first logins of one device would both see "no row"; queue them instead.
                await session.execute(
                    select(
                        func.pg_advisory_xact_lock(
                            _lock_id(subject_email, subject_issuer, client_id, device_label)
                        )
                    )
                )
            # A no-op write first: it locks the live row (PostgreSQL) or takes the write lock (SQLite)
            # before we read it, so concurrent rotations queue instead of failing on a stale snapshot.
            locked = (
                await session.execute(
                    update(TABLE)
                    .where(key)
                    .values(device_label=TABLE.c.device_label)
                    .returning(
                        TABLE.c.token_hash,
                        TABLE.c.prefix,
                        TABLE.c.account_id,
                        TABLE.c.created_at,
                        TABLE.c.last_used_at,
                        TABLE.c.expires_at,
                        TABLE.c.delivered_at,
                    )
                )
            ).first()
            predecessor = Predecessor(*locked) if locked is not None else None
            values = {
                "prefix": prefix,
                "token_hash": token_hash,
                "account_id": account_id,
                "created_at": now,
                "last_used_at": None,
                "expires_at": expires_at,
                "delivered_at": None,  # until the poll hands it over
            }
            insert = _upsert(dialect)(TABLE).values(
                id=uuid.UUID(str(uuid7())),
                subject_email=subject_email,
                subject_issuer=subject_issuer,
                client_id=client_id,
                device_label=device_label,
                revoked_at=None,
                **values,
            )
            statement = insert.on_conflict_do_update(
                index_elements=list(ROTATION_KEY),
                index_where=TABLE.c.revoked_at.is_(None),
                set_=values,
            ).returning(TABLE.c.id)
            token_id = (await session.execute(statement)).scalar_one()
        return Minted(token_id, token_hash, expires_at, predecessor)

    async def undo_mint(self, minted: Minted) -> bool:
        """Compensation when the approval could not be published: restore the predecessor or drop the row.

        A no-op (False) when a later rotation already replaced this token.
        """
        async with self.session_maker() as session, session.begin():
            # Never a token a poll already received: that approval went through after all.
            mine = and_(
                TABLE.c.id == minted.token_id,
                TABLE.c.token_hash == minted.token_hash,
                TABLE.c.delivered_at.is_(None),
            )
            if minted.predecessor is None:
                result = await session.execute(delete(TABLE).where(mine))
            else:
                before = minted.predecessor
                result = await session.execute(
                    update(TABLE)
                    .where(mine)
                    .values(
                        token_hash=before.token_hash,
                        prefix=before.prefix,
                        account_id=before.account_id,
                        created_at=before.created_at,
                        last_used_at=before.last_used_at,
                        expires_at=before.expires_at,
                        delivered_at=before.delivered_at,
                    )
                )
            return affected(result) == 1

    async def delivered(self, minted: Minted) -> bool:
        """Whether a poll has received this very token (its row still holds its hash)."""
        async with self.reads.connect() as conn:
            row = await conn.execute(
                select(TABLE.c.id).where(
                    TABLE.c.id == minted.token_id,
                    TABLE.c.token_hash == minted.token_hash,
                    TABLE.c.delivered_at.is_not(None),
                )
            )
            return row.first() is not None

    async def deliver(self, token_id: uuid.UUID, token_hash: str, now: datetime.datetime) -> bool:
        """Mark the token handed to its device; False when it is no longer its row's current, unrevoked,
        unexpired token (revoked or rotated away between approval and poll). One statement."""
        async with self.reads.connect() as conn:
            params = {
                "delivered_id": token_id,
                "delivered_hash": token_hash,
                "delivered_at_now": now,
                "delivered_now": now,
            }
            return (await conn.execute(_DELIVER, params)).first() is not None

    async def revoke_undelivered(
        self, cutoff: datetime.datetime, now: datetime.datetime, batch: int = PURGE_BATCH
    ) -> list[uuid.UUID]:
        """Revoke tokens minted before ``cutoff`` that no poll ever received (the approval's outcome
        was lost with the state store, or the device gave up); return their ids."""
        undelivered = and_(
            TABLE.c.delivered_at.is_(None), TABLE.c.revoked_at.is_(None), TABLE.c.created_at < cutoff
        )
        # One statement per batch: the rows it picks are the rows it revokes and reports, even when a
        # poll delivers one of them meanwhile (the UPDATE's own condition decides).
        statement = (
            update(TABLE)
            .where(TABLE.c.id.in_(select(TABLE.c.id).where(undelivered).limit(batch).scalar_subquery()))
            .where(undelivered)
            .values(revoked_at=now, token_hash=None)
            .returning(TABLE.c.id)
        )
        revoked: list[uuid.UUID] = []
        while True:
            async with self.session_maker() as session, session.begin():
                ids = list((await session.scalars(statement)).all())
            revoked += ids
            if len(ids) < batch:
                return revoked

    async def find_by_hash(self, token_hash: str) -> Any:
        """The one row read of bearer resolution (no expiry filter: the caller decides)."""
        async with self.reads.connect() as conn:
            return (await conn.execute(_BY_HASH, {"token_hash": token_hash})).first()

    async def revoke(self, token_id: uuid.UUID, now: datetime.datetime, owner: Subject) -> str | None:
        """Revoke one live row of ``owner``; return its old hash (to drop from the auth cache), None if
        nothing changed (unknown, foreign or already revoked)."""
        conditions = (TABLE.c.id == _TOKEN_ID, TABLE.c.revoked_at.is_(None), _owned_by(owner.shape))
        params = {"token_id": token_id, **owner.params()}
        async with self.session_maker() as session, session.begin():
            old_hash = await session.scalar(
                select(TABLE.c.token_hash).where(*conditions).with_for_update(), params
            )
            result = await session.execute(
                update(TABLE).where(*conditions).values(revoked_at=now, token_hash=None), params
            )
        return old_hash if affected(result) == 1 else None

    async def revoke_by_hash(self, token_hash: str, now: datetime.datetime) -> uuid.UUID | None:
        async with self.session_maker() as session, session.begin():
            token_id = await session.scalar(
                update(TABLE)
                .where(TABLE.c.token_hash == token_hash, TABLE.c.revoked_at.is_(None))
                .values(revoked_at=now, token_hash=None)
                .returning(TABLE.c.id)
            )
        return token_id

    async def of_account(self, account_id: uuid.UUID) -> list[Any]:
        """Every live token of an account (the administrator's view), newest first."""
        async with self.reads.connect() as conn:
            result = await conn.execute(
                select(
                    TABLE.c.id, TABLE.c.client_id, TABLE.c.device_label, TABLE.c.created_at,
                    TABLE.c.last_used_at, TABLE.c.expires_at,
                )
                .where(TABLE.c.account_id == account_id, TABLE.c.revoked_at.is_(None))
                .order_by(TABLE.c.created_at.desc())
            )
            return list(result.all())

    async def revoke_of_account(
        self, account_id: uuid.UUID, now: datetime.datetime, token_id: uuid.UUID | None = None
    ) -> list[tuple[uuid.UUID, str | None]]:
        """Revoke every live token of the account (or the one ``token_id`` of it); return (id, old
        hash) of each, for the auth cache and the audit log. One transaction: the rows read (locked)
        are the rows revoked."""
        conditions = [TABLE.c.account_id == account_id, TABLE.c.revoked_at.is_(None)]
        if token_id is not None:
            conditions.append(TABLE.c.id == token_id)
        async with self.session_maker() as session, session.begin():
            rows = (
                await session.execute(
                    select(TABLE.c.id, TABLE.c.token_hash).where(*conditions).with_for_update()
                )
            ).all()
            if rows:
                await session.execute(
                    update(TABLE)
                    .where(TABLE.c.id.in_([row.id for row in rows]))
                    .values(revoked_at=now, token_hash=None)
                )
        return [(row.id, row.token_hash) for row in rows]

    async def expire(self, token_id: uuid.UUID, now: datetime.datetime) -> bool:
        """Hard-expire: a compare-and-set, so only one caller sees True (and audits it)."""
        async with self.session_maker() as session, session.begin():
            result = await session.execute(
                update(TABLE)
                .where(TABLE.c.id == token_id, TABLE.c.revoked_at.is_(None), TABLE.c.expires_at <= now)
                .values(revoked_at=now, token_hash=None)
            )
        return affected(result) == 1

    async def owned(self, token_id: uuid.UUID, owner: Subject) -> bool:
        """Ownership check without liveness filters (a foreign id is reported as not found)."""
        async with self.reads.connect() as conn:
            result = await conn.execute(
                _owned_statement(owner.shape), {"token_id": token_id, **owner.params()}
            )
            return result.first() is not None

    async def sessions(
        self, owner: Subject, now: datetime.datetime, *, offset: int, limit: int
    ) -> tuple[list[Any], int]:
        """One page of the owner's live sessions (rows in ``_sessions_page_statement`` column order)
        and their exact total: always two statements."""
        params = {"now": now, **owner.params()}
        async with self.reads.connect() as conn:
            total = (await conn.execute(_sessions_count_statement(owner.shape), params)).scalar_one()
            result = await conn.execute(
                _sessions_page_statement(owner.shape), {**params, "offset": offset, "limit": limit}
            )
            rows = result.all()
        return list(rows), int(total or 0)

    async def record_last_used(self, uses: Iterable[tuple[uuid.UUID, datetime.datetime]]) -> int:
        """Batch-write ``last_used_at``; never moves it backwards."""
        params = [{"row_id": token_id, "used_at": used_at} for token_id, used_at in uses]
        if not params:
            return 0
        statement = (
            update(TABLE)
            .where(
                TABLE.c.id == bindparam("row_id"),
                or_(TABLE.c.last_used_at.is_(None), TABLE.c.last_used_at < bindparam("used_at")),
            )
            .values(last_used_at=bindparam("used_at"))
        )
        async with self.session_maker() as session, session.begin():
            await session.execute(statement, params)
        return len(params)

    async def purge(self, cutoff: datetime.datetime, batch: int = PURGE_BATCH) -> int:
        """Delete rows revoked, or expired, before ``cutoff``; ``batch`` rows per transaction."""
        stale = or_(
            TABLE.c.revoked_at < cutoff,
            and_(TABLE.c.revoked_at.is_(None), TABLE.c.expires_at < cutoff),
        )
        removed = 0
        while True:
            async with self.session_maker() as session, session.begin():
                ids = (await session.scalars(select(TABLE.c.id).where(stale).limit(batch))).all()
                if not ids:
                    return removed
                await session.execute(delete(TABLE).where(TABLE.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < batch:
                return removed
