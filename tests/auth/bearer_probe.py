"""A plugin under test for the bearer pipeline: its tokens live in a dict the test holds.

It is a real plugin (hook implementations registered through ``build_plugins``), standing in for
``oauth_device`` so the core pipeline can be exercised on its own: it registers authenticators for
``dfoa_`` and ``dfoe_``, mounts a few guarded routes, listens to audit events, adds a metrics
counter and a system feature.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import structlog
from litestar import Controller, Litestar, Request, get
from litestar.params import Parameter

from core.app import create_app
from core.auth import (
    ACCOUNT,
    EXTERNAL_SSO,
    BearerPipeline,
    TokenRecord,
    bearer_guard,
    current_subject,
    hash_token,
)
from core.auth.guards import require_membership, requires_scope
from core.context import HostContext
from core.hookspecs import hookimpl
from core.http.metrics import counter
from core.http.pagination import MAX_PAGE_LIMIT, Page
from core.testing.fixtures import serve
from core.testing.fixtures import truncate as truncate_tables
from tests.support.probes import probe_host

log = structlog.get_logger("difyd.probe")
PROBE_HITS = counter("probe_hits", "Requests answered by the bearer probe plugin", ("route",))


EXPIRED_HINT = "Ask the probe for a new token."


class DictAuthenticator:
    """Resolves tokens of one prefix from a dict of token hash -> TokenRecord; counts its calls."""

    expired_hint = EXPIRED_HINT

    def __init__(self, prefix: str, records: dict[str, TokenRecord], canonical_surface: str) -> None:
        self.prefix = prefix
        self.canonical_surface = canonical_surface
        self.records = records
        self.resolved: list[str] = []
        self.expired: list[str] = []

    async def resolve(self, token_hash: str) -> TokenRecord | None:
        self.resolved.append(token_hash)
        return self.records.get(token_hash)

    async def expire(self, record: TokenRecord) -> None:
        self.expired.append(record.token_id)
        # Like a real plugin's hard expire: the row stops resolving.
        for token_hash in [h for h, r in self.records.items() if r.token_id == record.token_id]:
            del self.records[token_hash]


class ProbeController(Controller):
    path = "/openapi/v1/probe"
    tags = ["probe"]

    @get("/any", guards=[bearer_guard(accept=[ACCOUNT, EXTERNAL_SSO])], summary="Who is calling")
    async def whoami(self, request: Request) -> dict[str, Any]:
        PROBE_HITS.labels(route="any").inc()
        subject = current_subject(request)
        return {
            "kind": subject.kind,
            "account_id": subject.account_id,
            "token_id": subject.token_id,
            "scopes": sorted(subject.scopes),
        }

    @get("/apps", guards=[bearer_guard(accept=[ACCOUNT], scope="apps:read")], summary="Account surface")
    async def apps(self) -> dict[str, bool]:
        return {"ok": True}

    @get(
        "/external",
        guards=[bearer_guard(accept=[EXTERNAL_SSO]), requires_scope("apps:read:permitted-external")],
        summary="External SSO surface",
    )
    async def external(self) -> dict[str, bool]:
        return {"ok": True}

    @get("/workspaces/{workspace_id:str}", guards=[bearer_guard(accept=[ACCOUNT])], summary="Membership")
    async def workspace(self, request: Request, workspace_id: str) -> dict[str, str]:
        return {"role": require_membership(current_subject(request), workspace_id)}

    @get("/list", summary="A paginated list (validation of page and limit)")
    async def listing(
        self,
        page: Annotated[int, Parameter(ge=1)] = 1,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_LIMIT)] = 20,
        workspace_id: uuid.UUID | None = None,
    ) -> Page[int]:
        rows = list(range(1, 43))
        start = (page - 1) * limit
        return Page.of(rows[start : start + limit], page=page, limit=limit, total=len(rows))

    @get("/required", summary="A required query parameter")
    async def required(self, name: str) -> dict[str, str]:
        return {"name": name}

    @get("/boom", summary="Fails with an unexpected exception")
    async def boom(self) -> dict[str, str]:
        raise RuntimeError("the database password is hunter2")

    @get("/careless", guards=[bearer_guard(accept=[ACCOUNT, EXTERNAL_SSO])], summary="Logs secrets")
    async def careless(self, request: Request) -> dict[str, str]:
        # A careless plugin: it logs the credentials it was sent, then fails quoting them.
        authorization = request.headers.get("authorization", "")
        log.warning(
            "probe_careless",
            authorization=authorization,
            cookie=request.headers.get("cookie"),
            note=f"caller sent {authorization}",
            nested={"password": "hunter2", "token": authorization.split()[-1]},
        )
        raise RuntimeError(f"could not handle {authorization}")


class BearerProbe:
    """The plugin object: ``build_plugins(settings, {"bearer_probe": BearerProbe()})``."""

    def __init__(self) -> None:
        self.records: dict[str, TokenRecord] = {}
        self.authenticators = {
            "dfoa_": DictAuthenticator("dfoa_", self.records, "/openapi/v1/probe/apps"),
            "dfoe_": DictAuthenticator("dfoe_", self.records, "/openapi/v1/probe/external"),
        }
        self.audit: list[Any] = []

    def resolve_calls(self) -> int:
        return sum(len(a.resolved) for a in self.authenticators.values())

    def expire_calls(self) -> list[str]:
        return [token for a in self.authenticators.values() for token in a.expired]

    def mint(
        self,
        kind: str = ACCOUNT,
        *,
        account_id: str | None = None,
        scopes: list[str] | None = None,
        expires_in: float | None = 3600,
        now: float | None = None,
    ) -> str:
        """Store a token and return its plain value (the client's secret)."""
        prefix = "dfoa_" if kind == ACCOUNT else "dfoe_"
        token = prefix + secrets.token_urlsafe(32)
        if kind == ACCOUNT and account_id is None:
            account_id = str(uuid.uuid4())
        self.records[hash_token(token)] = TokenRecord(
            token_id=str(uuid.uuid4()),
            prefix=prefix,
            kind=kind,
            scopes=scopes if scopes is not None else (["full"] if kind == ACCOUNT else
                                                      ["apps:run", "apps:read:permitted-external"]),
            subject_email="alice@example.com" if kind == ACCOUNT else "ext@partner.example",
            subject_issuer="dify:account" if kind == ACCOUNT else "https://idp.example",
            account_id=account_id,
            client_id="difyctl",
            expires_at=None if expires_in is None else (now or time.time()) + expires_in,
        )
        return token

    def revoke(self, token: str) -> None:
        self.records.pop(hash_token(token), None)

    @hookimpl
    def bearer_authenticators(self) -> list[DictAuthenticator]:
        return list(self.authenticators.values())

    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [ProbeController]

    @hookimpl
    def audit_event(self, ctx: Any, event: Any) -> None:
        self.audit.append(event)

    @hookimpl
    def system_features(self, ctx: Any) -> dict[str, Any]:
        return {"probe": {"enabled": True}, "license": {"seats": 5}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Running:
    probe: BearerProbe
    ctx: HostContext
    app: Litestar
    client: httpx.AsyncClient

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Swap the app's bearer pipeline for one that reads this clock (expiry without waiting)."""
        self.app.state.bearer = BearerPipeline(self.ctx, clock=clock)


@asynccontextmanager
async def running(
    make_settings: Any, base_url: str = "http://testserver.local", **overrides: Any
) -> AsyncIterator[Running]:
    """The host with only this probe plugin enabled, served on the test's loop; tables emptied after."""
    probe = BearerProbe()
    async with probe_host(make_settings, {"bearer_probe": probe}, **overrides) as ctx:
        app = create_app(ctx=ctx)
        async with serve(app, base_url) as client:
            try:
                yield Running(probe, ctx, app, client)
            finally:
                await truncate_tables(ctx)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now
