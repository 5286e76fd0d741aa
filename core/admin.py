"""Admin commands: accounts, workspaces, memberships, apps, demo data.

Every write goes through ``core.domain.services``; every refusal is a one-line error (exit status 1),
never a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import msgspec
import yaml

from core.domain.models import USER_FACING_MODES, AccountStatus, MemberRole
from core.settings import Settings

if TYPE_CHECKING:
    from core.context import HostContext

T = TypeVar("T")
MIN_PASSWORD_LENGTH = 8
MODES = [mode.value for mode in USER_FACING_MODES]
DRIVER_MODULES = frozenset({"asyncpg", "aiosqlite", "sqlite3", "redis"})
ACCOUNT_STATUSES = [status.value for status in AccountStatus]


def _settings(click_ctx: click.Context) -> Settings:
    # The group's object (core.cli.CliState) reads --config / DIFYD_CONFIG and the environment.
    return click_ctx.find_root().obj.settings


def run_with_host(work: Callable[[HostContext], Awaitable[T]]) -> T:
    """Build a HostContext from the command line's settings, run ``work`` on it, release it."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.cli import cli_state, host_context
    from core.domain.services import DomainError

    ctx = host_context(cli_state(click.get_current_context()))

    async def main() -> T:
        try:
            return await work(ctx)
        finally:
            await ctx.state.close()
            await ctx.engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        # Connection failures surface as the driver's own exceptions, not SQLAlchemy's.
        driver = type(exc).__module__.split(".")[0] in DRIVER_MODULES
        if not (isinstance(exc, SQLAlchemyError | OSError) or driver):
            raise
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
        raise click.ClickException(
            f"database error: {reason} (is the database reachable and migrated? `difyd database upgrade`)"
        ) from exc


def _password(password: str | None, generate: bool) -> tuple[str, bool]:
    """The password to set and whether it was generated (then it must be printed)."""
    from core.domain.demo import generate_password

    if password is not None and generate:
        raise click.UsageError("give --password or --generate-password, not both")
    if generate:
        return generate_password(), True
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password, False


def _login_hint(settings: Settings) -> str:
    host = settings.server.host
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a bind-all address is not one a client can dial
        host = "127.0.0.1"
    scheme = "http" if host in {"127.0.0.1", "localhost", "::1"} else "https"
    insecure = " --insecure" if scheme == "http" else ""
    return f"difyctl auth login --host {scheme}://{host}:{settings.server.port}{insecure}"


# --- accounts ------------------------------------------------------------------------------------


@click.group()
def accounts() -> None:
    """Console accounts (people who sign in)."""


@accounts.command("create")
@click.option("--email", required=True, help="Sign-in email (unique, case-insensitive).")
@click.option("--name", required=True, help="Display name.")
@click.option("--password", default=None, help="Password (prompted for unless --generate-password).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
@click.option("--status", type=click.Choice(ACCOUNT_STATUSES), default="active", show_default=True)
def accounts_create(
    email: str, name: str, password: str | None, generate_password: bool, status: str
) -> None:
    """Create an account."""
    from core.domain import services

    secret, generated = _password(password, generate_password)

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            account = await services.create_account(session, email, name, secret, status=status)
            return str(account.id)

    account_id = run_with_host(work)
    click.echo(f"created account {account_id} <{email.strip()}>")
    if generated:
        click.echo(f"password: {secret}")


@accounts.command("set-password")
@click.option("--email", required=True, help="The account's email.")
@click.option("--password", default=None, help="New password (prompted for unless --generate-password).")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once.")
def accounts_set_password(email: str, password: str | None, generate_password: bool) -> None:
    """Set (or reset) an account's password."""
    from core.domain import services

    secret, generated = _password(password, generate_password)

    async def work(ctx: HostContext) -> None:
        async with ctx.session() as session:
            account = await services.account_by_email(session, email)
            if account is None:
                raise services.DomainError(f"no account with email {email.strip()!r}")
            await services.set_password(session, account, secret)

    run_with_host(work)
    click.echo(f"password set for <{email.strip()}>")
    if generated:
        click.echo(f"password: {secret}")


@accounts.command("list")
def accounts_list() -> None:
    """Every account: id, email, name, status."""
    from sqlalchemy import select

    from core.domain.models import Account

    async def work(ctx: HostContext) -> list[Account]:
        async with ctx.session() as session:
            return list((await session.execute(select(Account).order_by(Account.created_at))).scalars())

    for account in run_with_host(work):
        click.echo(f"{account.id}  {account.email}  {account.name!r}  {account.status}")


# --- workspaces and members ----------------------------------------------------------------------


@click.group()
def workspaces() -> None:
    """Workspaces (Dify tenants)."""


@workspaces.command("create")
@click.option("--name", required=True, help="Workspace name.")
def workspaces_create(name: str) -> None:
    """Create a workspace; add people with `difyd members add`."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            return str((await services.create_workspace(session, name)).id)

    click.echo(f"created workspace {run_with_host(work)} {name.strip()!r}")


@workspaces.command("list")
def workspaces_list() -> None:
    """Every workspace: id, name, status."""
    from sqlalchemy import select

    from core.domain.models import Workspace

    async def work(ctx: HostContext) -> list[Workspace]:
        async with ctx.session() as session:
            return list((await session.execute(select(Workspace).order_by(Workspace.created_at))).scalars())

    for workspace in run_with_host(work):
        click.echo(f"{workspace.id}  {workspace.name!r}  {workspace.status}")


@click.group()
def members() -> None:
    """Workspace memberships."""


@members.command("add")
@click.option("--workspace", "workspace_ref", required=True, help="Workspace id or name.")
@click.option("--email", required=True, help="The account's email.")
@click.option("--role", type=click.Choice([r.value for r in MemberRole]), default="normal", show_default=True)
@click.option(
    "--current",
    is_flag=True,
    default=None,
    help="Make it the account's current workspace (its first workspace always is).",
)
def members_add(workspace_ref: str, email: str, role: str, current: bool | None) -> None:
    """Add an account to a workspace with a role."""
    from core.domain import services

    async def work(ctx: HostContext) -> str:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            account = await services.account_by_email(session, email)
            if account is None:
                raise services.DomainError(f"no account with email {email.strip()!r}")
            await services.add_member(session, workspace.id, account.id, role, current=current or None)
            return workspace.name

    workspace_name = run_with_host(work)
    click.echo(f"added <{email.strip()}> to {workspace_name!r} as {role}")


# --- apps ----------------------------------------------------------------------------------------


class AppFile(msgspec.Struct, forbid_unknown_fields=True):
    """An app described in a YAML or JSON file (``difyd apps create --from-file``)."""

    name: str
    mode: str
    workspace: str | None = None  # id or name; --workspace wins
    description: str = ""
    tags: list[str] = []
    icon: str = "🤖"
    enable_api: bool = True
    created_by: str | None = None  # an account email
    config: dict[str, Any] | None = None


def _read_document(path: str, what: str) -> Any:
    """A YAML or JSON document (JSON by suffix; YAML otherwise, which also reads JSON)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {what} {path}: {exc}") from exc
    try:
        return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.endswith(".json") else "YAML"
        reason = " ".join(line.strip() for line in str(exc).splitlines())
        raise click.ClickException(f"{what} {path} is not valid {kind}: {reason}") from exc


def _app_from_options(from_file: str | None, **options: Any) -> AppFile:
    """The file's fields, overridden by any option given on the command line."""
    raw: Any = _read_document(from_file, "app file") if from_file else {}
    if not isinstance(raw, dict):
        raise click.ClickException(f"app file {from_file} must hold a mapping (name, mode, config ...)")
    given = {key: value for key, value in options.items() if value not in (None, ())}
    if "tags" in given:
        given["tags"] = list(given["tags"])
    merged = {**raw, **given}
    for key in ("name", "mode"):
        if not merged.get(key):
            raise click.UsageError(f"missing --{key} (or `{key}:` in --from-file)")
    try:
        app = msgspec.convert(merged, AppFile)
    except msgspec.ValidationError as exc:
        where = f"app file {from_file}" if from_file else "app"
        raise click.ClickException(f"{where}: {exc}") from exc
    if app.mode not in MODES:
        raise click.ClickException(f"unknown app mode {app.mode!r}; expected one of: {', '.join(MODES)}")
    if app.workspace is None:
        raise click.UsageError("missing --workspace (or `workspace:` in --from-file)")
    return app


@click.group()
def apps() -> None:
    """Apps in a workspace."""


@apps.command("create")
@click.option("--from-file", "from_file", default=None, help="YAML/JSON: name, mode, tags, config ...")
@click.option("--workspace", default=None, help="Workspace id or name.")
@click.option("--name", default=None, help="App name.")
@click.option("--mode", default=None, help=f"One of: {', '.join(MODES)}.")
@click.option("--description", default=None)
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable), created on first use.")
@click.option("--icon", default=None, help="An emoji.")
@click.option("--created-by", default=None, help="The author's account email.")
@click.option("--api/--no-api", "enable_api", default=None, help="Enable the app's API (default: on).")
@click.option("--config-file", default=None, help="YAML/JSON app config (model config or workflow).")
def apps_create(from_file: str | None, config_file: str | None, **options: Any) -> None:
    """Create an app from options, from a file, or from a file with options overriding it."""
    from core.domain import services

    if config_file:
        options["config"] = _read_document(config_file, "config file")
        if not isinstance(options["config"], dict):
            raise click.ClickException(f"config file {config_file} must hold a mapping")
    spec = _app_from_options(from_file, **options)
    workspace_ref = spec.workspace or ""

    async def work(ctx: HostContext) -> tuple[str, str]:
        async with ctx.session() as session:
            workspace = await services.workspace_by_ref(session, workspace_ref)
            author_id = None
            if spec.created_by:
                author = await services.account_by_email(session, spec.created_by)
                if author is None:
                    raise services.DomainError(f"no account with email {spec.created_by.strip()!r}")
                author_id = author.id
            app = await services.create_app(
                session,
                workspace.id,
                spec.name,
                spec.mode,
                description=spec.description,
                created_by=author_id,
                enable_api=spec.enable_api,
                icon=spec.icon,
                config=spec.config,
                tags=spec.tags,
            )
            return str(app.id), workspace.name

    app_id, workspace_name = run_with_host(work)
    api = "" if spec.enable_api else ", API disabled"
    click.echo(f"created app {app_id} {spec.name!r} ({spec.mode}{api}) in {workspace_name!r}")


# --- demo data -----------------------------------------------------------------------------------


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any account exists (what `make run` uses).")
@click.option("--password", default=None, help="The demo password (default: generated, printed once).")
def demo(if_empty: bool, password: str | None) -> None:
    """Seed a demo account, two workspaces and an app of every mode; print how to sign in."""
    from core.domain import demo as demo_data
    from core.domain import services

    settings = _settings(click.get_current_context())
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    secret = password or demo_data.generate_password()

    async def work(ctx: HostContext) -> tuple[str, demo_data.DemoSeed | None]:
        async with ctx.session() as session:
            demo_exists = await services.account_by_email(session, demo_data.DEMO_EMAIL) is not None
            if demo_exists and not if_empty:
                raise services.DomainError(
                    f"demo data already exists (account {demo_data.DEMO_EMAIL}); "
                    f"reset its password with `difyd accounts set-password --email {demo_data.DEMO_EMAIL} "
                    "--generate-password`"
                )
            if if_empty and await services.any_account_exists(session):
                return ("demo" if demo_exists else "other"), None
        return "created", await demo_data.seed_demo(ctx, secret)

    outcome, seed = run_with_host(work)
    if seed is None:
        if outcome == "demo":
            email = demo_data.DEMO_EMAIL
            click.echo(
                f"demo data exists: sign in as {email} (its password was printed when it was created; "
                f"forgot it? `difyd accounts set-password --email {email} --generate-password`)"
            )
        else:
            click.echo("accounts exist: no demo data added (run `difyd demo` to add it anyway)")
        click.echo(f"sign in from the CLI: {_login_hint(settings)}")
        return
    _print_demo(seed, settings)


def _print_demo(seed: Any, settings: Settings) -> None:
    apps_by_workspace: dict[str, list[str]] = {}
    for app in seed.apps:
        label = f"{app['name']} ({app['mode']}{'' if app['enable_api'] else ', API disabled'})"
        apps_by_workspace.setdefault(app["workspace_id"], []).append(label)
    click.echo("demo data created")
    click.echo(f"  email:     {seed.account['email']}")
    click.echo(f"  password:  {seed.password}")
    click.echo(
        "  (shown once; keep it, or reset it later with "
        f"`difyd accounts set-password --email {seed.account['email']} --generate-password`)"
    )
    for workspace in seed.workspaces:
        listed = ", ".join(apps_by_workspace.get(workspace["id"], []))
        click.echo(f"  workspace {workspace['name']!r}: {listed}")
    click.echo("next:")
    click.echo(f"  {_login_hint(settings)}")
    click.echo("  difyctl get workspace")
    click.echo("  difyctl get app")
    click.echo("  difyctl describe app <app id>")


def admin_commands() -> list[click.Command]:
    return [accounts, workspaces, members, apps, demo]
