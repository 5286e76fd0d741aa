"""The ``difyd`` command line: run the server, migrate, run workers, inspect plugins, administer data."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from core.plugins import describe_plugins, flatten, plugin_env_aliases
from core.settings import Settings, SettingsError, load_settings


class CliState:
    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config, plugin_aliases=plugin_env_aliases())
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings


pass_state = click.make_pass_decorator(CliState)


@click.group()
@click.option("--config", "config", envvar="DIFYD_CONFIG", help="Path to a TOML config file.")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None) -> None:
    """difyd: a plugin-based API server for Dify's command-line client."""
    click_ctx.obj = CliState(config)


def _context(state: CliState) -> Any:
    from core.app import build_context
    from core.logging import configure_logging

    configure_logging(state.settings.log.level, state.settings.log.json)
    try:
        return build_context(state.settings)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.option("--host", default=None, help="Bind address (default: server.host).")
@click.option("--port", default=None, type=int, help="Port (default: server.port).")
@click.option("--workers", default=1, show_default=True, help="Uvicorn worker processes.")
@click.option("--migrate/--no-migrate", default=None, help="Apply migrations first (default: embedded only).")
@pass_state
def run(state: CliState, host: str | None, port: int | None, workers: int, migrate: bool | None) -> None:
    """Run the HTTP server."""
    import os

    import uvicorn

    settings = state.settings
    if migrate if migrate is not None else settings.mode == "embedded":
        _upgrade(state)
    if state.config:
        os.environ["DIFYD_CONFIG"] = str(state.config)
    uvicorn.run(
        "core.app:create_app_from_env",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # client IPs come from core.http.client_ip (trusted proxies only)
    )


@cli.group()
def database() -> None:
    """Database migrations."""


def _upgrade(state: CliState) -> None:
    from core.app import build_plugins
    from core.db.migrate import upgrade_all

    try:
        upgrade_all(state.settings, build_plugins(state.settings))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@database.command("upgrade")
@pass_state
def database_upgrade(state: CliState) -> None:
    """Apply every migration head (core and each enabled plugin's branch)."""
    _upgrade(state)
    click.echo("database is up to date")


@cli.group()
def workers() -> None:
    """Background job workers (saq on Redis)."""


@workers.command("run")
@pass_state
def workers_run(state: CliState) -> None:
    """Run a saq worker: processes enqueued jobs and cron schedules until interrupted (SIGINT/SIGTERM)."""
    from core.app import job_functions
    from core.jobs.saq_backend import SaqJobQueue, build_worker
    from core.plugins import await_me_maybe

    ctx = _context(state)
    if not isinstance(ctx.jobs, SaqJobQueue):
        raise click.ClickException("jobs.backend is 'inprocess': jobs already run inside the API process")
    functions, crons = job_functions(ctx)
    try:
        worker = build_worker(ctx.jobs, functions, crons, {"host": ctx}, state.settings.jobs.concurrency)
    except ValueError as exc:  # duplicate job names, invalid cron schedules
        raise click.ClickException(str(exc)) from exc
    names = ", ".join(sorted(worker.functions)) or "-"
    click.echo(f"worker on queue {state.settings.jobs.queue!r}: {len(worker.functions)} job(s) [{names}], "
               f"{len(crons)} cron(s)")

    async def main() -> None:
        # The same lifespan as the API process: plugins start, then work, then plugins shut down.
        await ctx.jobs.start()
        try:
            for result in ctx.plugins.hook.startup(ctx=ctx):
                await await_me_maybe(result)
            try:
                await worker.start()  # returns once a signal asked it to stop
            finally:
                for result in ctx.plugins.hook.shutdown(ctx=ctx):
                    await await_me_maybe(result)
        finally:
            await ctx.jobs.stop()
            await ctx.state.close()
            await ctx.engine.dispose()

    asyncio.run(main())


@cli.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def plugins_list(state: CliState, as_json: bool) -> None:
    """Each plugin's name, version, enabled or not, hooks and settings schema."""
    from core.plugins import load_plugins

    settings = state.settings
    try:
        loaded = load_plugins(settings.plugins.enabled, settings.plugins.blocked, settings.plugin)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    infos = describe_plugins(loaded)
    if as_json:
        click.echo(json.dumps([info.__dict__ for info in infos], indent=2, default=list))
        return
    for info in infos:
        flag = "enabled" if info.enabled else "disabled"
        click.echo(f"{info.name} {info.version} ({flag}) [{info.module}]")
        click.echo(f"  hooks: {', '.join(info.hooks) or '-'}")
        schema = json.dumps(info.settings_schema, sort_keys=True) if info.settings_schema else "-"
        click.echo(f"  settings: {schema}")
        if info.error:
            click.echo(f"  error: {info.error}")


def _register_admin_and_plugin_commands() -> None:
    from core.admin import admin_commands

    for command in admin_commands():
        cli.add_command(command)
    # Plugin commands need the plugin list, which needs settings: read them leniently here so that a
    # broken config still leaves `difyd --help` working (the command itself then reports the error).
    try:
        from core.plugins import load_plugins

        settings = load_settings(plugin_aliases=plugin_env_aliases())
        loaded = load_plugins(settings.plugins.enabled, settings.plugins.blocked, settings.plugin)
        for command in flatten(loaded.hook.cli_commands()):
            cli.add_command(command)
    except Exception:  # noqa: S110 - see comment above
        pass


def main() -> None:
    _register_admin_and_plugin_commands()
    cli()


if __name__ == "__main__":
    main()
