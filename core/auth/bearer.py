"""The bearer pipeline shared by every plugin.

``Authorization: Bearer <token>`` -> prefix -> the authenticator a plugin registered -> SHA-256 ->
state-store cache (positive 60 s, negative 10 s) or one resolution by the plugin -> ``Subject``.
A cache-hot request does no SQL. Expiry is checked on cache hits too.

In front of the state store sits a per-process near cache (``bearer.local_cache_seconds``, 1 s): a hot
token costs no state-store round trip at all. ``forget_token`` drops this process's near-cache entry at
once; other replicas may accept a just-revoked token until theirs lapses. A token missing from the near
cache is looked up once per process at a time (single-flight), so an expiry under load does not stampede
the state store or the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import msgspec
import structlog
from sqlalchemy import and_, select

from core.audit import AuditEvent
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, Subject, TokenRecord
from core.context import HostContext
from core.domain.changes import GENERATION_KEY, generation_of
from core.domain.models import Account, AccountStatus, Membership, Workspace, workspace_in_use
from core.http.errors import ApiError, too_many_requests
from core.http.metrics import TOKENS_REJECTED
from core.http.ratelimit import RateLimit
from core.logging import redact_token_prefixes
from core.plugins import each_flattened
from core.settings import SettingsError
from core.state.contract import Incr, StateStore

CACHE_PREFIX = "auth:token:"
NEGATIVE_UNKNOWN = b"invalid"
NEGATIVE_EXPIRED = b"expired"
BEARER_DISABLED = "bearer_auth_disabled: set ENABLE_OAUTH_BEARER=true to enable"

log = structlog.get_logger("difyd.auth")


@runtime_checkable
class BearerAuthenticator(Protocol):
    """Resolves tokens of one prefix. Provided by a plugin through the ``bearer_authenticators`` hook."""

    prefix: str  # e.g. "dfoa_": lower-case letters and digits, then one underscore
    # Where the subjects of these tokens belong: a token presented on a route that does not accept its
    # kind of subject is refused with this path, so the client knows where to go instead.
    canonical_surface: str
    # Said to the holder of an expired token (how to get a new one), or None.
    expired_hint: str | None

    async def resolve(self, token_hash: str) -> TokenRecord | None:
        """Return the live-or-expired record behind this hash, or None if unknown or revoked."""

    async def expire(self, record: TokenRecord) -> None:
        """Hard-expire the record (revoke it in storage and audit it); called once expiry is seen."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    head, sep, _ = token.partition("_")
    return head + sep if sep and head else None


def parse_authorization(header: str | None) -> str | None:
    """Split at the first space; the scheme is case-insensitive; the rest, trimmed, is the token."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip()
    return value or None


async def forget_token(state: StateStore, token_hash: str | None) -> None:
    """Drop a token's auth-cache entry (revoke, rotate, expire) before answering the client.

    The near caches of this process's pipelines on ``state`` forget it at once as well.
    """
    if token_hash:
        for near in list(_NEAR_CACHES.get(state, ())):
            near.forget(token_hash)
        await state.delete(CACHE_PREFIX + token_hash)


class _CacheEntry(msgspec.Struct):
    record: TokenRecord
    memberships: dict[str, str]
    # The membership generation the snapshot was taken under (core.domain.changes).
    generation: str = "0"


class _NearCache:
    """Resolved tokens kept in process memory for a few seconds, in front of the state-store cache.

    Holds the built ``Subject`` too, so a hit allocates nothing. Bounded: when full, the oldest
    entry goes. Lifetimes use the monotonic clock; token expiry is checked by the pipeline on every hit.
    """

    def __init__(self, seconds: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._entries: dict[str, tuple[float, _CacheEntry, Subject]] = {}
        # token hash -> the lookup under way (single-flight); kept here so that a forget reaches it.
        self.in_flight: dict[str, asyncio.Future[tuple[_CacheEntry, Subject]]] = {}
        # Bumped by every forget: a lookup that started before a forget must not store its
        # (possibly revoked) answer afterwards.
        self.epoch = 0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0 and self.size > 0

    def get(self, token_hash: str) -> tuple[_CacheEntry, Subject] | None:
        item = self._entries.get(token_hash)
        if item is None:
            return None
        if item[0] <= self.clock():
            del self._entries[token_hash]
            return None
        return item[1], item[2]

    def put(self, token_hash: str, entry: _CacheEntry, subject: Subject, epoch: int) -> None:
        if not self.enabled or epoch != self.epoch:
            return
        self._entries.pop(token_hash, None)
        while len(self._entries) >= self.size:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order: the oldest
        self._entries[token_hash] = (self.clock() + self.seconds, entry, subject)

    def forget(self, token_hash: str) -> None:
        """Drop the entry; a request after this starts a lookup of its own instead of joining one
        that may have read the entry before it was forgotten."""
        self.epoch += 1
        self._entries.pop(token_hash, None)
        self.in_flight.pop(token_hash, None)


# state store -> the near caches of the pipelines using it, so that ``forget_token(state, hash)``
# (called by plugins with only the state store at hand) reaches them. Weak: apps come and go in tests.
_NEAR_CACHES: weakref.WeakKeyDictionary[Any, weakref.WeakSet[_NearCache]] = weakref.WeakKeyDictionary()


def _register(state: StateStore, near: _NearCache) -> None:
    caches = _NEAR_CACHES.get(state)
    if caches is None:
        caches = _NEAR_CACHES[state] = weakref.WeakSet()
    caches.add(near)


_encode = msgspec.json.Encoder().encode
_decode_entry = msgspec.json.Decoder(_CacheEntry).decode


def _consistent(record: TokenRecord) -> bool:
    """An account token names its account; an external SSO token names none. Anything else is a bug
    in storage, answered like an unknown token rather than trusted."""
    if record.kind == ACCOUNT and not record.account_id:
        log.error("internal_state_invariant", token_id=record.token_id, kind=record.kind)
        return False
    if record.kind == EXTERNAL_SSO and record.account_id:
        log.error("internal_state_invariant", token_id=record.token_id, kind=record.kind)
        return False
    return True


class TokenRejected(ApiError):
    """A presented token that does not authenticate; ``reason`` is what the audit event says."""

    def __init__(self, message: str, reason: str, *, code: str = "unauthorized", hint: str | None = None):
        super().__init__(401, message, code=code, hint=hint)
        self.reason = reason


REJECTED_WINDOW = 60  # seconds: rejected tokens are counted, and an address locked out, per minute


def _lockout_key(ip: str) -> str:
    return f"auth:rejected_lockout|{ip}"


def unauthorized(message: str, *, code: str = "unauthorized", hint: str | None = None) -> ApiError:
    return ApiError(401, message, code=code, hint=hint)


def unknown_or_revoked() -> TokenRejected:
    return TokenRejected("token unknown or revoked", "unknown_or_revoked")


def token_expired(authenticator: BearerAuthenticator) -> TokenRejected:
    message = "Bearer token has expired."
    return TokenRejected(message, "expired", code="token_expired", hint=authenticator.expired_hint)


PREFIX_SHAPE = re.compile(r"^[a-z][a-z0-9]{1,15}_$")


def collect_authenticators(ctx: HostContext) -> dict[str, BearerAuthenticator]:
    """Every enabled plugin's authenticators by prefix; a malformed or doubly claimed prefix stops
    startup. Their prefixes join the log redaction, so a token is masked wherever it is written."""
    authenticators: dict[str, BearerAuthenticator] = {}
    owners: dict[str, str] = {}
    for plugin_name, authenticator in each_flattened(ctx.plugins, "bearer_authenticators", ctx=ctx):
        prefix = getattr(authenticator, "prefix", None)
        if not isinstance(prefix, str) or not PREFIX_SHAPE.match(prefix):
            raise SettingsError(
                f"plugin {plugin_name!r} declares a bearer authenticator with prefix {prefix!r}; "
                "a prefix is 2-16 lower-case letters or digits (a letter first) and one underscore"
            )
        if prefix in owners:
            raise SettingsError(
                f"plugins {owners[prefix]!r} and {plugin_name!r} both authenticate {prefix!r} tokens"
            )
        owners[prefix] = plugin_name
        authenticators[prefix] = authenticator
    redact_token_prefixes(authenticators)
    return authenticators


class BearerPipeline:
    """Turns an Authorization header into a Subject; owns the auth cache and the per-token limit."""

    def __init__(self, ctx: HostContext, clock: Callable[[], float] = time.time) -> None:
        self.ctx = ctx
        self.state = ctx.state
        self.settings = ctx.settings.bearer
        self.clock = clock
        self._authenticators = ctx.authenticators
        self.per_token = RateLimit("token", self.settings.rate_limit_per_token, 60)
        # Never longer than the shared cache would keep the entry.
        near_seconds = min(self.settings.local_cache_seconds, self.settings.positive_cache_seconds)
        self.near = _NearCache(near_seconds, self.settings.local_cache_size)
        _register(self.state, self.near)

    def authenticator_for(self, prefix: str) -> BearerAuthenticator | None:
        return self._authenticators.get(prefix)

    async def authenticate(self, header: str | None, ip: str = "") -> Subject:
        """The Subject behind ``Authorization``; ``ip`` (the client's) lets an address that presented
        too many bad tokens be refused before its next unknown token costs a database lookup."""
        token = parse_authorization(header)
        if token is None:
            raise unauthorized("missing bearer token")
        if not self.settings.enabled:
            raise ApiError(503, BEARER_DISABLED)
        prefix = token_prefix(token)
        authenticator = self.authenticator_for(prefix) if prefix else None
        if authenticator is None:
            raise TokenRejected("unknown token prefix", "unknown_prefix")
        token_hash = hash_token(token)
        near = self.near.get(token_hash)
        if near is None:
            entry, subject = await self._single_flight(authenticator, token_hash, ip)
        else:
            entry, subject = near
            if self._expired(entry.record):
                self.near.forget(token_hash)
                await self._hard_expire(authenticator, entry.record, token_hash)
        await self.per_token.enforce(self.state, token_hash)
        return subject

    async def _single_flight(
        self, authenticator: BearerAuthenticator, token_hash: str, ip: str
    ) -> tuple[_CacheEntry, Subject]:
        """One lookup per token hash at a time in this process; concurrent callers share its answer."""
        in_flight = self.near.in_flight
        pending = in_flight.get(token_hash)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(authenticator, token_hash, ip))
            in_flight[token_hash] = pending
            pending.add_done_callback(lambda done: self._landed(token_hash, done))
        # Shielded: a caller that goes away (client disconnect) must not cancel the others' lookup.
        return await asyncio.shield(pending)

    def _landed(self, token_hash: str, done: asyncio.Future[Any]) -> None:
        if self.near.in_flight.get(token_hash) is done:
            del self.near.in_flight[token_hash]
        if not done.cancelled():
            done.exception()  # retrieved here, so a lookup whose callers all left logs no warning

    async def _look_up(
        self, authenticator: BearerAuthenticator, token_hash: str, ip: str
    ) -> tuple[_CacheEntry, Subject]:
        epoch = self.near.epoch
        entry = await self._cached_or_resolved(authenticator, token_hash, ip)
        subject = self._subject(entry, token_hash)
        self.near.put(token_hash, entry, subject, epoch)
        return entry, subject

    async def _cached_or_resolved(
        self, authenticator: BearerAuthenticator, token_hash: str, ip: str
    ) -> _CacheEntry:
        key = CACHE_PREFIX + token_hash
        # The membership generation and the address's lockout ride along in the same round trip.
        raw, current, locked = await self.state.get_many([key, GENERATION_KEY, _lockout_key(ip)])
        generation = generation_of(current).decode()
        if locked is not None and (raw is None or raw in (NEGATIVE_UNKNOWN, NEGATIVE_EXPIRED)):
            # This address presented too many bad tokens: its unknown ones cost no lookup for a while.
            # A token already in the cache still works (a busy NAT keeps its good clients).
            raise too_many_requests(REJECTED_WINDOW, "too many rejected tokens from this address")
        if raw == NEGATIVE_UNKNOWN:
            raise unknown_or_revoked()
        if raw == NEGATIVE_EXPIRED:
            raise token_expired(authenticator)
        if raw is not None:
            try:
                entry = _decode_entry(raw)
            except msgspec.DecodeError:
                entry = None  # a malformed entry is a miss
            if entry is not None and entry.record.prefix == authenticator.prefix:
                if self._expired(entry.record):
                    await self._hard_expire(authenticator, entry.record, token_hash)
                if entry.record.kind == ACCOUNT and entry.generation != generation:
                    # Memberships changed somewhere since this snapshot: take a new one.
                    return await self._store(token_hash, entry.record, generation)
                return entry
        return await self._resolve(authenticator, token_hash, generation)

    def _expired(self, record: TokenRecord) -> bool:
        return record.expires_at is not None and record.expires_at <= self.clock()

    async def _resolve(
        self, authenticator: BearerAuthenticator, token_hash: str, generation: str
    ) -> _CacheEntry:
        record = await authenticator.resolve(token_hash)
        if record is None or record.prefix != authenticator.prefix or not _consistent(record):
            await self.state.set(
                CACHE_PREFIX + token_hash, NEGATIVE_UNKNOWN, ttl=self.settings.negative_cache_seconds
            )
            raise unknown_or_revoked()
        if self._expired(record):
            await self._hard_expire(authenticator, record, token_hash)
        return await self._store(token_hash, record, generation)

    async def _store(self, token_hash: str, record: TokenRecord, generation: str) -> _CacheEntry:
        """Cache the record with a fresh membership snapshot, tagged with the generation read before
        the snapshot (a change in between moves the generation again, so it is never missed)."""
        memberships = await self._memberships(record) if record.kind == ACCOUNT else {}
        entry = _CacheEntry(record=record, memberships=memberships, generation=generation)
        ttl: float = self.settings.positive_cache_seconds
        if record.expires_at is not None:
            ttl = max(min(ttl, record.expires_at - self.clock()), 1)
        await self.state.set(CACHE_PREFIX + token_hash, _encode(entry), ttl=ttl)
        return entry

    async def _hard_expire(
        self, authenticator: BearerAuthenticator, record: TokenRecord, token_hash: str
    ) -> None:
        await authenticator.expire(record)
        await self.state.set(
            CACHE_PREFIX + token_hash, NEGATIVE_EXPIRED, ttl=self.settings.negative_cache_seconds
        )
        raise token_expired(authenticator)

    async def _memberships(self, record: TokenRecord) -> dict[str, str]:
        """Snapshot of the account's workspaces (id -> role), cached with the token until it expires
        (60 s) or memberships change."""
        if record.account_id is None:
            return {}
        account_id = uuid.UUID(record.account_id)
        async with self.ctx.reads.connect() as conn:
            # One statement: the account's status, and its memberships (none: one row of NULLs; a
            # membership of an archived workspace: a row whose workspace is NULL).
            rows = (
                await conn.execute(
                    select(Account.status, Workspace.id, Membership.role)
                    .outerjoin(Membership, Membership.account_id == Account.id)
                    .outerjoin(Workspace, and_(Workspace.id == Membership.tenant_id, workspace_in_use()))
                    .where(Account.id == account_id)
                )
            ).all()
        if rows and rows[0][0] != AccountStatus.ACTIVE.value:
            # Banned, closed or pending: its tokens stop here. Not cached, so reinstating the account
            # lets them in again at once.
            raise TokenRejected(
                "The account this token belongs to is not active.",
                "account_inactive",
                code="account_inactive",
                hint="Ask an administrator about your account.",
            )
        return {str(tenant_id): role for _, tenant_id, role in rows if tenant_id is not None}

    @staticmethod
    def _subject(entry: _CacheEntry, token_hash: str) -> Subject:
        record = entry.record
        return Subject(
            kind=record.kind,
            scopes=frozenset(record.scopes),
            token_id=record.token_id,
            token_hash=token_hash,
            prefix=record.prefix,
            subject_email=record.subject_email,
            subject_issuer=record.subject_issuer,
            account_id=record.account_id,
            client_id=record.client_id,
            expires_at=record.expires_at,
            memberships=entry.memberships,
        )

    async def rejected(self, rejection: TokenRejected, path: str, ip: str) -> None:
        """Count a presented token that did not authenticate. The first rejection of each reason from
        an address in a minute is audited (a flood of junk tokens must not become a flood of audit
        lines); past ``bearer.rejected_limit_per_ip`` rejections in a minute the address is locked out
        of token lookups for a minute. Never the token or its hash."""
        TOKENS_REJECTED.labels(reason=rejection.reason).inc()
        try:
            first, count = await self.state.batch(
                [
                    Incr(f"auth:rejected|{rejection.reason}|{ip}", ttl=REJECTED_WINDOW),
                    Incr(f"auth:rejected|{ip}", ttl=REJECTED_WINDOW),
                ]
            )
            limit = self.settings.rejected_limit_per_ip
            if limit > 0 and count == limit + 1:
                await self.state.set(_lockout_key(ip), b"1", ttl=REJECTED_WINDOW)
                await self.ctx.audit(AuditEvent("auth.address_locked_out", {"ip": ip, "rejected": count}))
        except Exception:
            first = 1  # the store is failing: better one line too many than a hidden rejection
        if first == 1:
            await self.ctx.audit(
                AuditEvent("auth.token_rejected", {"reason": rejection.reason, "path": path, "ip": ip})
            )

    async def wrong_surface(self, subject: Subject, path: str) -> ApiError:
        await self.ctx.audit(
            AuditEvent(
                "openapi.wrong_surface_denied",
                {
                    "subject_type": subject.kind,
                    "attempted_path": path,
                    "client_id": subject.client_id,
                    "token_id": subject.token_id,
                },
            )
        )
        authenticator = self._authenticators.get(subject.prefix)
        canonical = authenticator.canonical_surface if authenticator else "/openapi/v1"
        return ApiError(403, f"wrong_surface (canonical: {canonical})")
