"""The ``difyd`` command line: run the server, migrate, run workers, inspect plugins, administer data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from core import __version__
from core.plugins import call_each_awaited, describe_plugins, flatten, plugin_failure, read_host_settings
from core.settings import Settings, SettingsError, ensure_secret_key

if TYPE_CHECKING:
    from core.context import HostContext
    from core.db.migrate import UpgradeReport
    from core.plugins import LoadedPlugins


class CliState:
    """What one ``difyd`` invocation reads once: its settings (``--config``) and its plugins."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._unsettled: Settings | None = None
        self._settings: Settings | None = None
        self._plugins: LoadedPlugins | None = None
        self._plugin_commands: dict[str, click.Command] | None = None
        # Why a plugin has no commands this time (its cli_commands hook raised), by plugin name.
        self.command_failures: dict[str, str] = {}

    def _read(self) -> Settings:
        # Unsettled: listing plugin commands for `--help` must not write a secret key file.
        if self._unsettled is None:
            try:
                self._unsettled = read_host_settings(self.config)
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._unsettled

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = ensure_secret_key(self._read())
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    @property
    def plugins(self) -> LoadedPlugins:
        """The enabled plugins, loaded once for every use in this invocation."""
        if self._plugins is None:
            from core.app import build_plugins  # looked up at call time: tests wrap it

            try:
                self._plugins = build_plugins(self._read())
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._plugins

    @property
    def plugin_commands(self) -> dict[str, click.Command]:
        """The enabled plugins' commands; none when the config is broken (built-in commands report it)."""
        if self._plugin_commands is None:
            self._plugin_commands = {}
            try:
                plugins = self.plugins
            except click.ClickException:  # `difyd --help` must work whatever the config says
                return self._plugin_commands
            for impl in plugins.hook.cli_commands.get_hookimpls():
                try:
                    commands = flatten([impl.function()])
                except Exception as exc:  # one broken plugin must not take the others' commands away
                    self.command_failures[impl.plugin_name] = str(
                        plugin_failure(impl.plugin_name, "cli_commands", exc)
                    )
                    continue
                self._plugin_commands.update({c.name: c for c in commands if c.name})
        return self._plugin_commands


def cli_state(click_ctx: click.Context) -> CliState:
    """The invocation's CliState; sub-command lookup can need it before the group's callback runs."""
    root = click_ctx.find_root()
    if isinstance(root.obj, CliState):
        return root.obj
    state = CliState(root.params.get("config"))
    if "config" in root.params:  # not yet parsed during an early `--help`: don't keep a guess
        root.obj = state
    return state


class DifydGroup(click.Group):
    """The root group: built-in commands plus those of the enabled plugins, read lazily."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        state = cli_state(ctx)
        names = sorted({*super().list_commands(ctx), *state.plugin_commands})
        for failure in state.command_failures.values():
            click.echo(f"warning: {failure}", err=True)
        return names

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        state = cli_state(ctx)
        command = super().get_command(ctx, cmd_name) or state.plugin_commands.get(cmd_name)
        if command is None and state.command_failures:
            # The command may well be the broken plugin's: say so rather than "No such command".
            failures = "; ".join(state.command_failures.values())
            raise click.ClickException(f"no command {cmd_name!r}: {failures}")
        return command


pass_state = click.make_pass_decorator(CliState)


@click.group(cls=DifydGroup)
@click.version_option(__version__, "--version", prog_name="difyd", message="%(prog)s %(version)s")
@click.option("--config", "config", envvar="DIFYD_CONFIG", is_eager=True, help="Path to a TOML config file.")
@click.pass_context
def cli(click_ctx: click.Context, config: str | None) -> None:
    """difyd: a plugin-based API server for Dify's command-line client."""
    click_ctx.obj = cli_state(click_ctx)


def host_context(state: CliState) -> HostContext:
    """Logging configured and a HostContext built from the invocation's settings and plugins."""
    from core.app import build_context
    from core.logging import configure_logging

    configure_logging(state.settings.log.level, state.settings.log.json)
    try:
        return build_context(state.settings, state.plugins, background=True)
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

    from core.http.protocol import PROTOCOL, raise_open_files_limit

    settings = state.settings
    if workers > 1 and (settings.state.backend == "memory" or settings.jobs.backend == "inprocess"):
        # Each process would keep its own device codes, rate limits and jobs: a code issued by one
        # process is unknown to the next, and device logins fail at random.
        raise click.ClickException(
            f"--workers {workers} needs state shared between processes: state.backend is "
            f"{settings.state.backend!r} and jobs.backend {settings.jobs.backend!r}; use Redis and saq "
            "(the production settings) or run one process"
        )
    _check_port_free(host or settings.server.host, port or settings.server.port)
    raise_open_files_limit()
    if migrate if migrate is not None else settings.mode == "embedded":
        _upgrade(state)
    if state.config:
        os.environ["DIFYD_CONFIG"] = str(state.config)
    # The app reads its settings again (the uvicorn factory): the address given here is its own
    # address too (the embedded default builds its public links from it).
    if host:
        os.environ["DIFYD_SERVER__HOST"] = host
    if port:
        os.environ["DIFYD_SERVER__PORT"] = str(port)
    uvicorn.run(
        "core.app:create_app_from_env",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers,
        log_level="warning",
        access_log=False,
        # Bounded heads, bodies, connections per address and requests in flight, answered in ErrorBody
        # (uvicorn's own limit_concurrency counts idle connections and answers in plain text).
        http=PROTOCOL,
        proxy_headers=False,  # client IPs come from core.http.client_ip (trusted proxies only)
    )


def _check_port_free(host: str, port: int) -> None:
    """One line with the way out when the address is taken (5001 is also Dify API's default port),
    rather than uvicorn's traceback after the server has announced itself."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; is another server using it? "
                f"choose another port: --port {port + 1} or DIFYD_SERVER__PORT={port + 1}"
            ) from exc


@cli.command()
@click.option("--timeout", default=2.0, show_default=True, help="Seconds to wait for the answer.")
@click.pass_context
def health(click_ctx: click.Context, timeout: float) -> None:
    """Ask this machine's server for GET /healthz on its configured port (a container HEALTHCHECK);
    exit status 0 when it answers 200."""
    import httpx

    settings = cli_state(click_ctx)._read()  # unsettled: a probe needs no secret key
    url = f"http://127.0.0.1:{settings.server.port}/healthz"
    try:
        status = httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError as exc:
        raise click.ClickException(f"{url}: {type(exc).__name__}") from exc
    if status != 200:
        raise click.ClickException(f"{url} answered {status}")
    click.echo(f"{url}: ok")


@cli.group()
def database() -> None:
    """Database migrations."""


def _upgrade(state: CliState) -> UpgradeReport:
    from core.db.migrate import upgrade_all

    try:
        return upgrade_all(state.settings, state.plugins)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@database.command("upgrade")
@pass_state
def database_upgrade(state: CliState) -> None:
    """Apply every migration head (core and each enabled plugin's branch)."""
    report = _upgrade(state)
    if report.applied:
        click.echo(f"applied {len(report.applied)} migration(s): {', '.join(report.applied)}")
    else:
        click.echo("database is up to date: nothing to apply")
    if report.parked:
        click.echo(f"kept as they are (their plugins are not enabled): {', '.join(report.parked)}")


@cli.group()
def workers() -> None:
    """Background job workers (saq on Redis)."""


@workers.command("run")
@pass_state
def workers_run(state: CliState) -> None:
    """Run a saq worker: processes enqueued jobs and cron schedules until interrupted (SIGINT/SIGTERM)."""
    from core.app import shut_down
    from core.jobs.saq_backend import SaqJobQueue, build_worker

    ctx = host_context(state)
    if not isinstance(ctx.jobs, SaqJobQueue):
        raise click.ClickException("jobs.backend is 'inprocess': jobs already run inside the API process")
    catalog = ctx.jobs.catalog
    worker = build_worker(ctx.jobs, catalog, {"host": ctx}, state.settings.jobs.concurrency)
    names = ", ".join(sorted(catalog.functions)) or "-"
    click.echo(f"worker on queue {state.settings.jobs.queue!r}: {len(catalog.functions)} job(s) [{names}], "
               f"{len(catalog.crons)} cron(s)")

    async def main() -> None:
        # The same lifespan as the API process: plugins start, then work, then everything is released
        # step by step, whatever state Redis and the database are in.
        try:
            await ctx.jobs.start()
            await call_each_awaited(ctx.plugins, "startup", ctx=ctx)
            await worker.start()  # returns once a signal asked it to stop
        finally:
            await shut_down(ctx)

    asyncio.run(main())


@cli.group()
def plugins() -> None:
    """Installed plugins."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def plugins_list(state: CliState, as_json: bool) -> None:
    """Each plugin's name, version, enabled or not, hooks and settings schema."""
    infos = describe_plugins(state.plugins, blocked=state.settings.plugins.blocked)
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


@plugins.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package folder.",
)
def plugins_new(name: str, directory: Path) -> None:
    """Create a plugin package NAME: settings, a guarded route, a table and its migration, a job with a
    schedule, a command and tests (docs/plugins.md follows it)."""
    from core.scaffold import ScaffoldError, create_plugin

    try:
        root = create_plugin(name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {root}")
    click.echo("next:")
    click.echo(f"  pip install -e '{root}[test]'")
    click.echo(f"  (cd {root} && pytest)")
    click.echo(f"  DIFYD_PLUGINS__ENABLED=oauth_device,openapi_apps,{name} difyd database upgrade")


def main() -> None:
    from core.admin import admin_commands

    for command in admin_commands():
        cli.add_command(command)
    cli()


if __name__ == "__main__":
    main()
