"""``difyd demo``: seed demo data once and say how to sign in with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.passwords import long_enough
from core.admin.runner import command_settings, run_with_host

if TYPE_CHECKING:
    from core.context import HostContext
    from core.domain.demo import DemoSeed
    from core.settings import Settings


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any account exists (what `make run` uses).")
@click.option("--password", default=None, help="The demo password (default: generated, printed once).")
def demo(if_empty: bool, password: str | None) -> None:
    """Seed a demo account, two workspaces and an app of every mode; print how to sign in."""
    from core.domain import demo as demo_data
    from core.domain import services

    settings = command_settings()
    secret = long_enough(password) if password is not None else demo_data.generate_password()

    async def work(ctx: HostContext) -> tuple[str, DemoSeed | None]:
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


def _login_hint(settings: Settings) -> str:
    host = settings.server.host
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 - a bind-all address is not one a client can dial
        host = "127.0.0.1"
    scheme = "http" if host in {"127.0.0.1", "localhost", "::1"} else "https"
    insecure = " --insecure" if scheme == "http" else ""
    return f"difyctl auth login --host {scheme}://{host}:{settings.server.port}{insecure}"


def _print_demo(seed: DemoSeed, settings: Settings) -> None:
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
