"""The license status, asked of the ``license_status`` hook at most once per few seconds per process,
and the guard that admits licensed routes only while it is ``active`` or ``expiring``.

Without a provider (the community edition) the status is ``none``. A provider that fails, or answers
something this core does not know, denies: a licensed feature is never served on a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, get_args

import structlog
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.http.errors import ApiError
from core.plugins import await_me_maybe

if TYPE_CHECKING:
    from core.context import HostContext

LicenseStatus = Literal["active", "expiring", "expired", "inactive", "lost", "none"]
LICENSE_STATUSES: frozenset[str] = frozenset(get_args(LicenseStatus))
ADMITTED: frozenset[LicenseStatus] = frozenset({"active", "expiring"})

# A status is asked again after this long: a license that lapses stops admitting within seconds,
# and a busy licensed route costs its provider one call per process per interval, not one per request.
CACHE_SECONDS = 10.0
# A provider that failed is asked again sooner: one hiccup must not close licensed routes for long.
FAILURE_CACHE_SECONDS = 2.0

log = structlog.get_logger("difyd.license")


class LicenseCheck:
    """This process's view of the license status (one per host)."""

    def __init__(self, ctx: HostContext, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.clock = clock
        self._status: LicenseStatus = "none"
        self._fresh_until = float("-inf")
        self._lock = asyncio.Lock()

    async def status(self) -> LicenseStatus:
        if self.clock() < self._fresh_until:
            return self._status
        async with self._lock:  # one question at a time; the others take its answer
            if self.clock() >= self._fresh_until:
                self._status, ttl = await self._ask()
                self._fresh_until = self.clock() + ttl
        return self._status

    async def admits(self) -> bool:
        return await self.status() in ADMITTED

    def forget(self) -> None:
        """Ask the provider again on the next check (a provider that just installed a license)."""
        self._fresh_until = float("-inf")

    async def _ask(self) -> tuple[LicenseStatus, float]:
        try:
            answer = await await_me_maybe(self.ctx.plugins.hook.license_status(ctx=self.ctx))
        except Exception as exc:
            log.warning("license_status_failed", error_type=type(exc).__name__)
            return "lost", FAILURE_CACHE_SECONDS
        if answer is None:
            return "none", CACHE_SECONDS
        if answer not in LICENSE_STATUSES:
            log.warning("license_status_unknown", status=str(answer)[:32])
            return "lost", FAILURE_CACHE_SECONDS
        return answer, CACHE_SECONDS


def not_found() -> ApiError:
    return ApiError(404, "not found", code="not_found")


def requires_license(refusal: Callable[[], ApiError] = not_found) -> Any:
    """A route guard admitting requests only under an ``active`` or ``expiring`` license.

    Put it first in ``guards=[...]``: Litestar runs guards in order, so a refused request (a plain 404
    by default: the route does not exist for an unlicensed server) spends no rate-limit bucket and
    no database work. Pass ``refusal`` for another answer, e.g. a 403 ``license_required``.
    """

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        host: HostContext = connection.app.state.host
        if not await host.license.admits():
            raise refusal()

    return guard
