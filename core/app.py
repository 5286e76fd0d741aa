"""The composition root: settings in, a Litestar application out."""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.routes import HTTPRoute

from core import __version__
from core.audit import AuditLogSink
from core.auth.bearer import BearerPipeline, collect_authenticators
from core.auth.console_routes import ConsoleController
from core.context import HostContext
from core.db.engine import create_engine
from core.http.client_ip import client_ip, parse_proxies
from core.http.errors import EXCEPTION_HANDLERS
from core.http.headers import core_policies, install_header_policies
from core.http.health import HealthController
from core.http.hygiene import RequestHygieneMiddleware
from core.http.metrics import MetricsController, prometheus_config
from core.http.openapi import BEARER_SCHEME, finish_openapi, security_of
from core.http.pages import static_file
from core.http.protocol import configure_protocol
from core.http.request import DifydRequest, refuse_repeated_parameters
from core.jobs.catalog import JobCatalog, build_catalog
from core.jobs.inprocess import InProcessJobQueue
from core.jobs.queue import JobQueue
from core.jobs.saq_backend import SaqJobQueue
from core.logging import configure_logging
from core.plugins import (
    LoadedPlugins,
    PluginError,
    call_each_awaited,
    call_hooks,
    each_flattened,
    load_host_settings,
    load_plugins,
)
from core.settings import Settings, SettingsError
from core.state.factory import create_state_store

log = structlog.get_logger("difyd.app")


def build_plugins(settings: Settings, extra_modules: Mapping[str, object] | None = None) -> LoadedPlugins:
    """The enabled plugins; ``extra_modules`` adds plugin objects that are not installed (test probes)."""
    plugins = load_plugins(settings.plugins.enabled, settings.plugins.blocked, settings.plugin, extra_modules)
    # The core dogfoods the hook system: its audit log sink is registered like any plugin.
    plugins.manager.register(AuditLogSink(), name="core.audit_log")
    return plugins


def build_context(
    settings: Settings, plugins: LoadedPlugins | None = None, *, background: bool = False
) -> HostContext:
    """Everything a hook, a job or a CLI command needs; shared by the API and the worker.

    ``background``: for workers and the command line, whose database waits are not bounded for a
    fast 503 (``database.background_timeout``).
    """
    plugins = plugins or build_plugins(settings)
    ctx = HostContext(
        settings=settings,
        plugins=plugins,
        engine=create_engine(settings, background=background),
        state=create_state_store(settings),
        jobs=None,  # type: ignore[arg-type]  # set below: job hooks receive the context
    )
    ctx.jobs = build_job_queue(ctx)
    ctx.authenticators = collect_authenticators(ctx)
    return ctx


def job_catalog(ctx: HostContext) -> JobCatalog:
    """Every enabled plugin's jobs and schedules, named ``<plugin>.<function>``."""
    functions = each_flattened(ctx.plugins, "jobs", ctx=ctx)
    crons = each_flattened(ctx.plugins, "cron_jobs", ctx=ctx)
    return build_catalog(functions, crons, ctx.plugins.settings)


def build_job_queue(ctx: HostContext) -> JobQueue:
    catalog = job_catalog(ctx)
    if ctx.settings.jobs.backend == "saq":
        return SaqJobQueue(ctx.settings.redis.url, ctx.settings.jobs.queue, catalog)
    queue = InProcessJobQueue(catalog, ctx.settings.jobs.concurrency, clock=lambda: ctx.clock())
    queue.context["host"] = ctx
    return queue


def _lifespan(ctx: HostContext) -> Any:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await ctx.jobs.start()
        await call_each_awaited(ctx.plugins, "startup", ctx=ctx)
        try:
            yield
        finally:
            await shut_down(ctx)

    return lifespan


async def shut_down(ctx: HostContext) -> None:
    """Release what a host holds, for the API and the worker alike. Each step on its own: a dependency
    down at shutdown (Redis refusing the queue's goodbye) must not skip releasing the others, nor
    turn a clean stop into a failed one."""
    for step, release in (
        ("plugins_shutdown", lambda: call_hooks(ctx.plugins.hook.shutdown, ctx=ctx)),
        ("jobs_stop", ctx.jobs.stop),
        ("state_close", ctx.state.close),
        ("engine_dispose", ctx.engine.dispose),
    ):
        try:
            await release()
        except Exception as exc:
            log.warning("shutdown_step_failed", step=step, error_type=type(exc).__name__)


def create_app(settings: Settings | None = None, ctx: HostContext | None = None) -> Litestar:
    if ctx is None:
        settings = settings or load_host_settings()
        configure_logging(settings.log.level, settings.log.json)
        ctx = build_context(settings)
    settings = ctx.settings
    proxies = parse_proxies(settings.server.trusted_proxies)
    handlers: list[Any] = [HealthController, ConsoleController, static_file]
    middleware: list[Any] = []
    if settings.http.metrics_enabled:
        middleware.append(prometheus_config().middleware)
        handlers.append(MetricsController)
    app = Litestar(
        route_handlers=handlers,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[_lifespan(ctx)],
        openapi_config=OpenAPIConfig(
            title="difyd",
            version=__version__,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        debug=False,
        logging_config=None,
        request_class=DifydRequest,
        before_request=refuse_repeated_parameters,
        request_max_body_size=settings.http.max_body_bytes,
    )
    register_plugin_routes(app, ctx)
    finish_openapi(app)
    # Innermost first: hygiene refusals still get the anti-framing and CORS headers around them.
    app.asgi_handler = RequestHygieneMiddleware(app.asgi_handler)
    policies = [
        *core_policies(),
        *(policy for _, policy in each_flattened(ctx.plugins, "header_policies", ctx=ctx)),
    ]
    install_header_policies(app, policies, settings.http.cors_allow_origins)
    app.state.host = ctx
    app.state.bearer = BearerPipeline(ctx)

    def request_ip(request: Request) -> str:
        return client_ip(request, proxies, settings.server.trust_cf_connecting_ip)

    app.state.client_ip = request_ip
    return app


def register_plugin_routes(app: Litestar, ctx: HostContext) -> None:
    """Each plugin's routes, registered one by one so that a clash (a path and method another plugin
    or the core already serves) or a malformed handler is reported as that plugin's error."""
    bearer_routes: dict[str, str] = {}  # plugin -> one of its bearer-guarded paths
    owners = {
        (path, method): "the core" for path, handler in _handlers(app) for method in handler.http_methods
    }
    for plugin, handler in each_flattened(ctx.plugins, "route_handlers", ctx=ctx):
        before = _handler_ids(app)
        try:
            app.register(handler)
        except Exception as exc:  # Litestar's ImproperlyConfiguredException, or a handler's own error
            raise _route_error(plugin, exc, owners) from exc
        for path, added in _handlers(app):
            if id(added) in before:
                continue
            owners.update({(path, method): f"plugin {plugin!r}" for method in added.http_methods})
            # Only a token will do (a guard that also takes a console session works without one).
            if any(security_of(guard) == (BEARER_SCHEME,) for guard in added.resolve_guards()):
                bearer_routes.setdefault(plugin, path)
    if bearer_routes and not ctx.authenticators:
        # Every call to those routes would be a 401: say what is missing now, not to each client.
        plugin, path = next(iter(bearer_routes.items()))
        raise PluginError(
            f"plugin {plugin!r} serves routes behind a bearer token ({path}), but no enabled plugin "
            "authenticates bearer tokens: enable one that implements bearer_authenticators "
            "(`difyd plugins list` shows each plugin's hooks)"
        )


_CLASH = re.compile(r"already registered for path '(?P<path>[^']*)' and http method (?P<method>\w+)")


def _route_error(plugin: str, exc: Exception, owners: dict[tuple[str, str], str]) -> PluginError:
    """A clash names both sides (whichever registered first); anything else, the plugin's own error."""
    detail = getattr(exc, "detail", "") or str(exc)
    clash = _CLASH.search(detail)
    if clash:
        owner = owners.get((clash["path"], clash["method"]), "another plugin")
        return PluginError(
            f"plugin {plugin!r}: its route {clash['method']} {clash['path']} is already served by {owner}"
        )
    return PluginError(f"plugin {plugin!r}: a route of its route_handlers hook: {detail}")


def _handlers(app: Litestar) -> list[tuple[str, Any]]:
    return [
        (route.path, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
    ]


def _handler_ids(app: Litestar) -> set[int]:
    return {id(handler) for _, handler in _handlers(app)}


def freeze_startup_objects() -> None:
    """Hide everything built at start-up from the garbage collector.

    Full collections otherwise rescan ~100 MB of long-lived objects (routes, models, compiled
    schemas) and stall requests: measured p99 127 ms -> 23 ms on the bearer benchmark. Only the
    served process does this; tests build many apps in one process and must stay collectable.
    """
    gc.collect()
    gc.freeze()


def create_app_from_env() -> Litestar:
    """Uvicorn factory: reads the config file named by DIFYD_CONFIG (or the default) and the environment.

    A configuration or plugin error is one line on stderr and exit status 1, as for every other
    command (uvicorn would print the traceback of any exception a factory raises)."""
    try:
        app = create_app()
    except SettingsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    configure_protocol(app.state.host.settings)
    app.on_startup.append(freeze_startup_objects)
    app.on_startup.append(lambda: log_lifecycle(app.state.host, "difyd_started"))
    app.on_shutdown.append(lambda: log_lifecycle(app.state.host, "difyd_stopped"))
    return app


def log_lifecycle(ctx: HostContext, event: str) -> None:
    """One line when a served process starts and stops: what runs, and where (the port is free:
    ``difyd run`` checked it before starting the server)."""
    settings = ctx.settings
    log.info(
        event,
        version=__version__,
        mode=settings.mode,
        plugins=",".join(name for name in settings.plugins.enabled if name not in settings.plugins.blocked),
        address=f"http://{settings.server.host}:{settings.server.port}",
        pid=os.getpid(),
    )
