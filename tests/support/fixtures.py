"""Fixtures that run every behavioural test on both backends.

``backend`` is parametrised: ``sqlite`` (SQLite file + in-memory state + in-process jobs) and
``postgres`` (PostgreSQL + Redis). Each backend's database is created and migrated once per session;
tables are emptied after each test and each test gets its own Redis key prefix.

Which plugins a test's host enables is the ``enabled_plugins`` fixture: every installed one by default,
and each plugin's ``tests/conftest.py`` narrows it to that plugin (plus test plugins such as the
``token_issuer``), so a plugin's tests run with only the core and the plugin. ``DIFYD_TEST_BLOCKED``
(comma-separated plugin names) blocks plugins for the whole run and makes importing them fail: with it,
``pytest plugins/<a>`` shows that plugin ``a``'s tests never load another plugin.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from core.app import build_context, build_plugins, create_app
from core.context import HostContext
from core.db.base import metadata
from core.db.migrate import upgrade_all
from core.settings import Settings, validate_tree
from tests.support.jobs import saq_worker, unique_queue_name
from tests.support.token_issuer import TOKEN_ISSUER, TokenIssuer

PG_ADMIN_URL = os.environ.get("DIFYD_TEST_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DIFYD_TEST_REDIS", "redis://127.0.0.1:6379/15")
BACKENDS = [b for b in os.environ.get("DIFYD_TEST_BACKENDS", "sqlite,postgres").split(",") if b]
SECRET = "test-secret-key-0123456789abcdef0123456789abcdef"
ALL_PLUGINS = ["oauth_device", "openapi_apps"]
BLOCKED = [name for name in os.environ.get("DIFYD_TEST_BLOCKED", "").split(",") if name]


class _BlockedPluginImports(importlib.abc.MetaPathFinder):
    """Refuses to import a blocked plugin's package, so a test that still needs it fails loudly."""

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if len(parts) >= 2 and parts[0] == "plugins" and parts[1] in BLOCKED:
            raise ImportError(f"{fullname}: plugin {parts[1]!r} is blocked for this run (DIFYD_TEST_BLOCKED)")
        return None


if BLOCKED:
    sys.meta_path.insert(0, _BlockedPluginImports())


def settings_tree(backend: str, database_url: str, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {
        "mode": "embedded" if backend == "sqlite" else "production",
        "data_dir": str(data_dir),
        "secret_key": SECRET,
        # The public address links are built from (never the Host header); the test client's own.
        "console_web_url": "http://testserver.local",
        "database": {"url": database_url},
        "redis": {"url": REDIS_URL},
        "state": {"backend": "memory" if backend == "sqlite" else "redis",
                  "key_prefix": f"t{uuid.uuid4().hex[:10]}:"},
        # Production's runner on production's backend: jobs go through Redis to a saq worker, which
        # ``running`` starts beside each app (tests/support/jobs.py), on a queue of the test's own.
        "jobs": (
            {"backend": "inprocess"}
            if backend == "sqlite"
            else {"backend": "saq", "queue": unique_queue_name()}
        ),
        "log": {"level": "WARNING"},
        "plugins": {"enabled": list(ALL_PLUGINS), **({"blocked": list(BLOCKED)} if BLOCKED else {})},
        # Off in tests: many write or delete auth-cache entries in the state store directly and expect
        # the next request to see it. tests/auth/test_bearer_near_cache.py turns it on.
        "bearer": {"local_cache_seconds": 0},
    }
    for key, value in overrides.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


async def _create_pg_database(name: str) -> str:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_pg_database(name: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A fresh, fully migrated database for this backend (once per test session)."""
    data_dir = tmp_path_factory.mktemp(f"db-{backend}")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'test.sqlite3'}"
        name = None
    else:
        name = f"difyd_test_{os.getpid()}"
        url = await _create_pg_database(name)
    settings = validate_tree(settings_tree(backend, url, data_dir))
    # alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade_all, settings, build_plugins(settings))
    yield url
    if name:
        await _drop_pg_database(name)


@pytest.fixture
def enabled_plugins() -> list[str]:
    """The plugins a test's host enables; each plugin's tests/conftest.py narrows it to its own."""
    return list(ALL_PLUGINS)


@pytest.fixture
def token_issuer() -> TokenIssuer:
    """The test plugin that issues bearer tokens for test subjects (tests/support/token_issuer.py)."""
    return TokenIssuer()


@pytest.fixture
def probe_plugins(token_issuer: TokenIssuer) -> dict[str, object]:
    """Plugin objects that are not installed, available to ``plugins.enabled`` by these names."""
    return {TOKEN_ISSUER: token_issuer}


@pytest.fixture
def make_settings(backend: str, database_url: str, tmp_path: Path, enabled_plugins: list[str]) -> Any:
    """Build Settings for this backend; keyword overrides use dotted keys (``bearer.enabled=False``).
    ``plugins.enabled`` is the ``enabled_plugins`` fixture unless overridden."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("plugins.enabled", list(enabled_plugins))
        return validate_tree(settings_tree(backend, database_url, tmp_path, **overrides))

    return make


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings()


async def truncate(ctx: HostContext) -> None:
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with ctx.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
async def host(settings: Settings, probe_plugins: dict[str, object]) -> AsyncIterator[HostContext]:
    """A HostContext outside any app (services, jobs, direct DB work), probe plugins available."""
    ctx = build_context(settings, build_plugins(settings, probe_plugins))
    yield ctx
    await truncate(ctx)
    await ctx.state.close()
    await ctx.engine.dispose()


@pytest.fixture
def app(host: HostContext) -> Litestar:
    return create_app(ctx=host)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(app) as test_client:
        yield test_client


@asynccontextmanager
async def serve(app: Litestar, base_url: str = "http://testserver.local") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and an httpx client in-process, on the test's own event loop.

    Not litestar's AsyncTestClient: that runs the app on a second loop in a thread, so pooled
    asyncpg/Redis connections made by the test (seeding through ``host``) would cross loops, and
    concurrent requests would be serialised through the portal instead of really racing.
    """
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as test_client:
            test_client.app = app  # type: ignore[attr-defined]  # helpers reach the host through it
            yield test_client


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in one task of its own (anyio scopes must exit where they entered)."""
    started, stop = asyncio.Event(), asyncio.Event()
    failure: list[BaseException] = []

    async def hold() -> None:
        try:
            async with app.lifespan():
                started.set()
                await stop.wait()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise

    task = asyncio.create_task(hold())
    await started.wait()
    if failure:
        await asyncio.gather(task, return_exceptions=True)
        raise failure[0]
    try:
        async with saq_worker(app.state.host):  # the host's jobs run as in production (saq backend)
            yield
    finally:
        stop.set()
        await task


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A folder per test for screenshots and other artefacts: artifacts/<test id>/."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in request.node.nodeid)
    path = Path(__file__).resolve().parents[2] / "artifacts" / safe
    path.mkdir(parents=True, exist_ok=True)
    yield path


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
