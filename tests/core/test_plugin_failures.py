"""Every failure of a plugin is one line that names it: the hook, and the setting where one is to blame.

The probes here are the mistakes a plugin author makes: a hook that raises, a route another plugin
already serves, a bad cron schedule in a setting, a value set through an alias, a job scheduled for a
plugin since disabled. Each must stop (or be skipped) with a sentence, not a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog
from litestar import get

from core.app import build_context, build_plugins, create_app
from core.hookspecs import hookimpl
from core.jobs import CronJob
from core.jobs.saq_backend import SaqJobQueue
from core.plugins import PluginError, read_host_settings
from core.settings import SettingsError
from core.testing.fixtures import REDIS_URL
from core.testing.jobs import forget_queue, running_worker, unique_queue_name, wait_for
from tests.support.probes import clean_environ, install_plugin_package, run_difyd, write_config


@get("/healthz", sync_to_thread=False)
def shadow_health() -> str:
    return "mine"


class BrokenRoutes:
    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        raise RuntimeError("settings not ready")


class ClashingRoutes:
    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [shadow_health]


async def tidy(ctx: dict[str, Any]) -> None:
    ctx.setdefault("tidied", []).append(True)


class BadSchedule:
    """Its schedule comes from a setting, as a real plugin's would."""

    class Settings:
        __struct_fields__ = ("tidy_cron",)

        def __init__(self) -> None:
            self.tidy_cron = "61 * * * *"

    @hookimpl
    def cron_jobs(self, ctx: Any) -> list[CronJob]:
        return [CronJob(tidy, ctx.plugin_settings("sched").tidy_cron)]


def _ctx(make_settings: Any, probes: dict[str, object]) -> Any:
    settings = make_settings(**{"plugins.enabled": list(probes)})
    return build_context(settings, build_plugins(settings, probes))


async def _release(ctx: Any) -> None:
    await ctx.state.close()
    await ctx.engine.dispose()


async def test_a_hook_that_raises_is_named_with_its_plugin(make_settings):
    ctx = _ctx(make_settings, {"broken": BrokenRoutes()})
    try:
        with pytest.raises(PluginError) as caught:
            create_app(ctx=ctx)
        assert str(caught.value) == (
            "plugin 'broken' failed in its route_handlers hook: RuntimeError: settings not ready"
        )
    finally:
        await _release(ctx)


async def test_a_route_clash_names_the_plugin_and_the_path(make_settings):
    ctx = _ctx(make_settings, {"clash": ClashingRoutes()})
    try:
        with pytest.raises(PluginError) as caught:
            create_app(ctx=ctx)
        assert str(caught.value) == "plugin 'clash': its route GET /healthz is already served by the core"
    finally:
        await _release(ctx)


@get("/shared", sync_to_thread=False)
def shared_one() -> str:
    return "one"


@get("/shared", sync_to_thread=False)
def shared_two() -> str:
    return "two"


async def test_two_plugins_serving_one_route_are_both_named(make_settings):
    """Whichever registers second is reported, with the one that already serves the route."""

    class One:
        @hookimpl
        def route_handlers(self, ctx: Any) -> list[Any]:
            return [shared_one]

    class Two:
        @hookimpl
        def route_handlers(self, ctx: Any) -> list[Any]:
            return [shared_two]

    ctx = _ctx(make_settings, {"one": One(), "two": Two()})
    try:
        with pytest.raises(PluginError) as caught:
            create_app(ctx=ctx)
        assert str(caught.value) in {
            "plugin 'one': its route GET /shared is already served by plugin 'two'",
            "plugin 'two': its route GET /shared is already served by plugin 'one'",
        }
    finally:
        await _release(ctx)


class InstanceSettings:
    class Settings(msgspec.Struct):
        limit: int = 5

    @hookimpl
    def plugin_settings(self) -> Any:
        return self.Settings()  # the instance, where the class is meant


def test_settings_that_are_not_a_struct_class_are_one_line_naming_the_plugin(make_settings):
    settings = make_settings(**{"plugins.enabled": ["careless"]})
    with pytest.raises(PluginError) as caught:
        build_plugins(settings, {"careless": InstanceSettings()})
    assert str(caught.value) == (
        "plugin 'careless': its plugin_settings hook must return a msgspec.Struct class "
        "(the class itself, not an instance); it returned a Settings instance"
    )


async def test_a_bad_cron_schedule_names_the_setting_it_came_from(make_settings):
    probe = BadSchedule()
    settings = make_settings(**{"plugins.enabled": ["sched"]})
    plugins = build_plugins(settings, {"sched": probe})
    plugins.settings["sched"] = BadSchedule.Settings()
    with pytest.raises(PluginError) as caught:
        build_context(settings, plugins)
    assert str(caught.value) == (
        "plugin 'sched': cron schedule '61 * * * *' of job 'sched.tidy' is not valid "
        "([61 * * * *] is not acceptable, out of range) "
        "(set by plugin.sched.tidy_cron, DIFYD_PLUGINS__SCHED__TIDY_CRON)"
    )


BOOKMARKS = """
    from typing import ClassVar

    import msgspec
    from core.hookspecs import hookimpl

    class Settings(msgspec.Struct, forbid_unknown_fields=True):
        max_per_user: int = 100
        env_aliases: ClassVar[dict[str, str]] = {"BOOKMARKS_MAX_PER_USER": "max_per_user"}

    @hookimpl
    def plugin_settings():
        return Settings
"""


def test_a_value_set_through_an_alias_is_reported_under_that_alias(tmp_path, monkeypatch):
    """The operator set BOOKMARKS_MAX_PER_USER; the error names it, not the canonical variable."""
    monkeypatch.syspath_prepend(str(install_plugin_package(tmp_path, "bookmarks", BOOKMARKS)))
    monkeypatch.setenv("DIFYD_PLUGINS__ENABLED", "bookmarks")
    monkeypatch.setenv("BOOKMARKS_MAX_PER_USER", "lots")
    settings = read_host_settings(write_config(tmp_path / "c.toml", ""))
    with pytest.raises(SettingsError) as caught:
        build_plugins(settings)
    message = str(caught.value)
    assert "plugin 'bookmarks': max_per_user: expected `int`, got `str`" in message
    assert message.endswith("(set by environment BOOKMARKS_MAX_PER_USER)")
    monkeypatch.delenv("BOOKMARKS_MAX_PER_USER")
    monkeypatch.setenv("DIFYD_PLUGINS__BOOKMARKS__MAX_PER_USER", "lots")
    with pytest.raises(SettingsError) as caught:
        build_plugins(read_host_settings(tmp_path / "c.toml"))
    assert str(caught.value).endswith("(set by environment DIFYD_PLUGINS__BOOKMARKS__MAX_PER_USER)")


async def test_two_plugins_may_each_have_a_job_of_the_same_name(make_settings):
    """Jobs are named <plugin>.<function>: two ``tidy`` jobs are two jobs; the bare name is ambiguous."""

    class One:
        @hookimpl
        def jobs(self, ctx: Any) -> list[Any]:
            return [tidy]

    class Two:
        @hookimpl
        def jobs(self, ctx: Any) -> list[Any]:
            async def tidy(ctx: dict[str, Any]) -> str:
                return "two"

            return [tidy]

    ctx = _ctx(make_settings, {"one": One(), "two": Two()})
    try:
        assert {"one.tidy", "two.tidy"} <= set(ctx.jobs.catalog.functions)
        with pytest.raises(LookupError, match=r"ambiguous: one\.tidy, two\.tidy"):
            ctx.jobs.catalog.resolve("tidy")
        assert ctx.jobs.catalog.resolve(tidy) == "one.tidy"
    finally:
        await _release(ctx)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_job_of_a_disabled_plugin_is_skipped_by_the_worker_with_one_line(backend):
    """A schedule or job a plugin enqueued before it was disabled reaches a worker that no longer
    knows it: one log line, and the worker goes on with its other jobs (saq raised KeyError)."""
    name = unique_queue_name()

    async def known(ctx: dict[str, Any]) -> None:
        ctx["ran"].append(True)

    from core.jobs.catalog import JobCatalog

    catalog = JobCatalog.of([known], plugin="kept")
    queue = SaqJobQueue(REDIS_URL, name, catalog)
    context: dict[str, Any] = {"ran": []}
    await queue.start()
    try:
        with structlog.testing.capture_logs() as logs:
            async with running_worker(queue, catalog, context):
                from saq import Job

                await queue.queue.enqueue(Job(function="gone.nightly", kwargs={}))
                await queue.enqueue("known")

                async def ran() -> bool:
                    return bool(context["ran"])

                await wait_for(ran, 10)
        skipped = [line for line in logs if line["event"] == "job_skipped_unknown"]
        assert [line["job"] for line in skipped] == ["gone.nightly"]
    finally:
        await queue.stop()
        await forget_queue(REDIS_URL, name)


BROKEN_COMMANDS = """
    from core.hookspecs import hookimpl

    @hookimpl
    def cli_commands():
        raise ImportError("click_extra is not installed")
"""


@pytest.mark.slow
def test_a_command_of_a_plugin_whose_cli_hook_failed_says_why(tmp_path: Path):
    """``difyd bookmarks`` when the plugin's cli_commands hook raised: the reason, exit status 1 (it was
    'No such command')."""
    root = install_plugin_package(tmp_path / "pkg", "bookmarks", BROKEN_COMMANDS)
    env = clean_environ(
        PYTHONPATH=str(root),
        DIFYD_PLUGINS__ENABLED="bookmarks",
        DIFYD_DATA_DIR=str(tmp_path / "data"),
    )
    done = run_difyd("bookmarks", "list", env=env)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "Error: no command 'bookmarks': plugin 'bookmarks' failed in its cli_commands hook: "
        "ImportError: click_extra is not installed"
    )
    assert "Traceback" not in done.stderr


BROKEN_ROUTES = """
    from core.hookspecs import hookimpl

    @hookimpl
    def route_handlers(ctx):
        return [object()]
"""


@pytest.mark.slow
def test_difyd_run_with_a_broken_plugin_is_one_line_and_exit_status_1(tmp_path: Path):
    root = install_plugin_package(tmp_path / "pkg", "bookmarks", BROKEN_ROUTES)
    env = clean_environ(
        PYTHONPATH=str(root),
        DIFYD_PLUGINS__ENABLED="bookmarks",
        DIFYD_DATA_DIR=str(tmp_path / "data"),
        DIFYD_SERVER__PORT="0",
    )
    done = run_difyd("run", "--no-migrate", env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "plugin 'bookmarks': a route of its route_handlers hook:" in done.stderr.strip().splitlines()[-1]


class BrokenStartup:
    @hookimpl
    async def startup(self, ctx: Any) -> None:
        raise ConnectionError("the search index is not reachable")


async def test_a_startup_hook_that_fails_names_its_plugin(make_settings):
    from core.testing.fixtures import running

    ctx = _ctx(make_settings, {"indexer": BrokenStartup()})
    try:
        with pytest.raises(BaseException) as caught:  # Litestar's lifespan wraps it in a group
            async with running(create_app(ctx=ctx)):
                pass
        error = caught.value
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        assert isinstance(error, PluginError)
        assert str(error) == (
            "plugin 'indexer' failed in its startup hook: ConnectionError: the search index is not reachable"
        )
    finally:
        await _release(ctx)


async def test_bearer_routes_without_any_token_issuer_are_a_startup_error(make_settings):
    """The example plugin alone serves /hello/me behind a bearer token, and nothing issues tokens:
    every call would be a 401, so the server refuses to start and says what is missing."""
    settings = make_settings(**{"plugins.enabled": ["hello"]})
    ctx = build_context(settings, build_plugins(settings))
    try:
        with pytest.raises(PluginError) as caught:
            create_app(ctx=ctx)
        assert str(caught.value) == (
            "plugin 'hello' serves routes behind a bearer token (/hello/me), but no enabled plugin "
            "authenticates bearer tokens: enable one that implements bearer_authenticators "
            "(`difyd plugins list` shows each plugin's hooks)"
        )
    finally:
        await _release(ctx)
