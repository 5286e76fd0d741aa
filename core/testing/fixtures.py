"""The pytest plugin of difyd: every behavioural test runs on both backends, for any plugin package.

Installed with difyd and registered in the ``pytest11`` entry-point group, so a plugin package's tests
get these fixtures by installing difyd, with nothing on ``sys.path`` (docs/testing.md):

- ``backend``: parametrised over ``sqlite`` (SQLite file + in-memory state + in-process jobs) and
  ``postgres`` (PostgreSQL + Redis + jobs on a saq worker); ``DIFYD_TEST_BACKENDS=sqlite`` picks one.
- ``database_url``: each backend's database, created and migrated once per session with every installed
  plugin's migrations (the plugins a test enables are always among them).
- ``enabled_plugins``: what a test's host enables. The distribution's default plugins unless a
  ``conftest.py`` overrides it, e.g. ``["bookmarks", "token_issuer"]``.
- ``make_settings(**dotted_overrides)``, ``settings``, ``host`` (a HostContext), ``app`` and ``client``
  (httpx on the test's own loop, the app's lifespan running, a saq worker beside it on ``postgres``).
- ``token_issuer``: the test plugin that hands out bearer tokens for test subjects
  (``core.testing.token_issuer``); enable it by its name, ``token_issuer``.

Isolation: every table is emptied after each test that used ``host``, and each test has a state-store
key prefix (and saq queue) of its own. ``DIFYD_TEST_BLOCKED`` (comma-separated plugin names) blocks
plugins for the whole run and makes importing their packages fail: with it, a plugin's tests show they
never load another plugin.

PostgreSQL and Redis come from ``DIFYD_TEST_PG_ADMIN`` (a URL to a database the tests may create
databases from) and ``DIFYD_TEST_REDIS``; the defaults are the local servers.
"""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.machinery
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec
import pytest
import pytest_asyncio
from litestar import Litestar

from core.app import build_context, build_plugins, create_app
from core.context import HostContext
from core.db.migrate import upgrade_all
from core.plugins import installed_entry_points
from core.settings import DEFAULT_PLUGINS, Settings, validate_tree
from core.testing.database import create_pg_database, drop_pg_database, empty_tables
from core.testing.jobs import saq_worker, unique_queue_name
from core.testing.token_issuer import TOKEN_ISSUER, TokenIssuer

PG_ADMIN_URL = os.environ.get("DIFYD_TEST_PG_ADMIN", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DIFYD_TEST_REDIS", "redis://127.0.0.1:6379/15")
BACKENDS = [b for b in os.environ.get("DIFYD_TEST_BACKENDS", "sqlite,postgres").split(",") if b]
SECRET = "test-secret-key-0123456789abcdef0123456789abcdef"
BLOCKED = [name for name in os.environ.get("DIFYD_TEST_BLOCKED", "").split(",") if name]


def _blocked_packages() -> tuple[str, ...]:
    """The packages of the blocked plugins: ``plugins.oauth_device`` for ``plugins.oauth_device.plugin``."""
    installed = installed_entry_points()
    packages = []
    for name in BLOCKED:
        entry_point = installed.get(name)
        if entry_point is None:
            continue
        module = entry_point.value.split(":", 1)[0]
        packages.append(module.rsplit(".", 1)[0] if "." in module else module)
    return tuple(packages)


class _BlockedPluginImports(importlib.abc.MetaPathFinder):
    """Refuses to import a blocked plugin's package, so a test that still needs it fails loudly."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Any, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        for package in self.packages:
            if fullname == package or fullname.startswith(package + "."):
                raise ImportError(f"{fullname}: its plugin is blocked for this run (DIFYD_TEST_BLOCKED)")
        return None


if BLOCKED:
    sys.meta_path.insert(0, _BlockedPluginImports(_blocked_packages()))


def settings_tree(backend: str, database_url: str, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """The settings of a test host on ``backend``; keyword overrides use dotted keys."""
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
        # ``running`` starts beside each app (core/testing/jobs.py), on a queue of the test's own.
        "jobs": (
            {"backend": "inprocess"}
            if backend == "sqlite"
            else {"backend": "saq", "queue": unique_queue_name()}
        ),
        "log": {"level": "WARNING"},
        "plugins": {"enabled": list(DEFAULT_PLUGINS), **({"blocked": list(BLOCKED)} if BLOCKED else {})},
        # Off in tests: many write or delete auth-cache entries in the state store directly and expect
        # the next request to see it. A test of the near cache turns it on.
        "bearer": {"local_cache_seconds": 0},
    }
    for key, value in overrides.items():
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def installed_plugins() -> list[str]:
    """Every installed plugin that is not blocked: the migrations the test databases get."""
    return [name for name in installed_entry_points() if name not in BLOCKED]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A fresh database for this backend with every installed plugin's migrations (once per session)."""
    data_dir = tmp_path_factory.mktemp(f"db-{backend}")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'test.sqlite3'}"
        name = None
    else:
        name = f"difyd_test_{os.getpid()}"
        url = await create_pg_database(PG_ADMIN_URL, name)
    tree = settings_tree(backend, url, data_dir, **{"plugins.enabled": installed_plugins()})
    settings = validate_tree(tree)
    # alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade_all, settings, build_plugins(settings))
    yield url
    if name:
        await drop_pg_database(PG_ADMIN_URL, name)


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of this backend with nothing in it, dropped after the test: for tests of migrations
    (the shared ``database_url`` is already migrated)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"difyd_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = await create_pg_database(PG_ADMIN_URL, name)
    try:
        yield url
    finally:
        await drop_pg_database(PG_ADMIN_URL, name)


@pytest.fixture
def enabled_plugins() -> list[str]:
    """The plugins a test's host enables; a plugin's tests/conftest.py narrows it to its own."""
    return list(DEFAULT_PLUGINS)


@pytest.fixture
def token_issuer() -> TokenIssuer:
    """The test plugin that issues bearer tokens for test subjects (core.testing.token_issuer)."""
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
    """Empty every table of the host's database (what isolates one test from the next)."""
    await empty_tables(ctx.engine)


@pytest_asyncio.fixture(loop_scope="session")
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


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(app) as test_client:
        yield test_client


@asynccontextmanager
async def host_for(
    settings: Settings, probes: Mapping[str, object] | None = None
) -> AsyncIterator[HostContext]:
    """Another HostContext, for these settings (``make_settings(...)`` with some changed), with probe
    plugin objects available to ``plugins.enabled``; released when the block ends. Serve it with
    ``serve(create_app(ctx=...))``."""
    ctx = build_context(settings, build_plugins(settings, probes))
    try:
        yield ctx
    finally:
        await ctx.state.close()
        await ctx.engine.dispose()


@asynccontextmanager
async def client_for(
    settings: Settings, probes: Mapping[str, object] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of another server on these settings (``host_for``, then ``serve``), for a test that
    compares two configurations."""
    async with host_for(settings, probes) as ctx, serve(create_app(ctx=ctx)) as client:
        yield client


@asynccontextmanager
async def serve(app: Litestar, base_url: str = "http://testserver.local") -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and an httpx client in-process, on the test's own event loop.

    Not litestar's AsyncTestClient: that runs the app on a second loop in a thread, so pooled
    asyncpg/Redis connections made by the test (seeding through ``host``) would cross loops, and
    concurrent requests would be serialised through the portal instead of really racing.
    """
    async with running(app):
        # Litestar's ASGI types are narrower than httpx's idea of an ASGI app; both are ASGI.
        transport = httpx.ASGITransport(app=cast(Any, app), client=("127.0.0.1", 50000))
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
    """A folder per test for screenshots and other artefacts: <rootdir>/artifacts/<test id>/."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in request.node.nodeid)
    path = Path(request.config.rootpath) / "artifacts" / safe
    path.mkdir(parents=True, exist_ok=True)
    yield path


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
