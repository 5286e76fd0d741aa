"""What every hook receives: the running host's settings and shared services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.domain.changes import CHANGES, MEMBERSHIPS, memberships_changed
from core.keys import Sealer, Signer
from core.settings import Settings
from core.state.contract import StateStore

if TYPE_CHECKING:
    from core.audit import AuditEvent
    from core.auth.bearer import BearerAuthenticator
    from core.http.pages import Pages
    from core.jobs.queue import JobQueue
    from core.license import LicenseCheck
    from core.plugins import LoadedPlugins

log = structlog.get_logger("difyd.domain")


@dataclass
class HostContext:
    settings: Settings
    plugins: LoadedPlugins
    engine: AsyncEngine
    state: StateStore
    jobs: JobQueue
    session_maker: async_sessionmaker[AsyncSession] = field(init=False)
    reads: AsyncEngine = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    # Epoch seconds: what the host and its plugins read the time from for decisions (expiry, schedules);
    # tests replace it to move time without sleeping.
    clock: Callable[[], float] = time.time
    # The enabled plugins' bearer authenticators by token prefix (core.auth.bearer.collect_authenticators).
    authenticators: dict[str, BearerAuthenticator] = field(default_factory=dict)
    _sealers: dict[str, Sealer] = field(default_factory=dict, repr=False)
    _signers: dict[str, Signer] = field(default_factory=dict, repr=False)
    _announcements: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        # Every session of this host announces what its commits changed (core.domain.changes),
        # whoever opened it: a job, a command, a request, a plugin.
        session_class = type("HostSession", (Session,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        self.session_maker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=session_class
        )
        # The same pool without BEGIN/ROLLBACK, for hot single-statement reads: at READ COMMITTED a
        # lone statement sees its own snapshot either way, so the transaction only costs round trips.
        self.reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    def sealer(self, purpose: str) -> Sealer:
        """Encryption for values kept in a shared store, keyed for ``purpose`` from SECRET_KEY."""
        sealer = self._sealers.get(purpose)
        if sealer is None:
            sealer = self._sealers[purpose] = Sealer(self.settings.secret_keys, purpose)
        return sealer

    def signer(self, purpose: str) -> Signer:
        """Signatures with expiry for values handed out (URLs, OAuth state, cookies), keyed for
        ``purpose`` from SECRET_KEY; retired keys (``previous_secret_keys``) still verify."""
        signer = self._signers.get(purpose)
        if signer is None:
            signer = self._signers[purpose] = Signer(self.settings.secret_keys, purpose)
        return signer

    @cached_property
    def pages(self) -> Pages:
        """The plugins' templates (one Jinja environment) and static files, found by convention."""
        from core.http.pages import Pages

        return Pages(self.plugins)

    @cached_property
    def license(self) -> LicenseCheck:
        """The license status as the ``license_status`` hook reports it, asked briefly cached."""
        from core.license import LicenseCheck

        return LicenseCheck(self)

    def plugin_settings(self, name: str) -> Any:
        """The validated settings Struct of an enabled plugin."""
        return self.plugins.settings_for(name)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session outside a request (jobs, CLI, startup); commits on success, and returns once what
        the commit changed has been announced (so a command line exits with its change known)."""
        async with self.session_maker() as session, session.begin():
            yield session
        await self.announced()

    def _after_commit(self, session: Session) -> None:
        """What the transaction changed that caches depend on (memberships) is announced once it has
        committed, so no replica keeps serving the old answer from its cache."""
        if MEMBERSHIPS in session.info.pop(CHANGES, set()):
            task = asyncio.ensure_future(self._announce_memberships())
            self._announcements.add(task)
            task.add_done_callback(self._announcements.discard)

    async def _announce_memberships(self) -> None:
        try:
            await memberships_changed(self.state)
        except Exception as exc:  # the change is committed; cached snapshots lapse on their own
            log.warning(
                "membership_change_not_announced",
                error_type=type(exc).__name__,
                stale_for_at_most_seconds=self.settings.bearer.positive_cache_seconds,
            )

    async def announced(self) -> None:
        """Wait for the announcements of commits made so far."""
        if self._announcements:
            await asyncio.gather(*list(self._announcements))

    async def audit(self, event: AuditEvent) -> None:
        """Fan an audit event out to every plugin that listens (the core's log sink included)."""
        from core.plugins import call_hooks

        await call_hooks(self.plugins.hook.audit_event, ctx=self, event=event)
