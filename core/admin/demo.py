"""``difyd demo``: seed demo data once and say how to sign in with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from core.admin.passwords import long_enough
from core.admin.runner import run_with_host
from core.plugins import flatten

if TYPE_CHECKING:
    from core.context import HostContext
    from core.domain.demo import DemoSeed


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any account exists (what `make run` uses).")
@click.option("--password", default=None, help="The demo password (default: generated, printed once).")
def demo(if_empty: bool, password: str | None) -> None:
    """Seed a demo account, two workspaces and an app of every mode; print how to sign in."""
    from core.domain import demo as demo_data
    from core.domain import services

    secret = long_enough(password) if password is not None else demo_data.generate_password()

    async def work(ctx: HostContext) -> tuple[str, DemoSeed | None, list[str]]:
        steps = [str(step) for step in flatten(ctx.plugins.hook.next_steps(ctx=ctx))]
        async with ctx.session() as session:
            demo_exists = await services.account_by_email(session, demo_data.DEMO_EMAIL) is not None
            if demo_exists and not if_empty:
                raise services.DomainError(
                    f"demo data already exists (account {demo_data.DEMO_EMAIL}); "
                    f"reset its password with `difyd accounts set-password --email {demo_data.DEMO_EMAIL} "
                    "--generate-password`"
                )
            if if_empty and await services.any_account_exists(session):
                return ("demo" if demo_exists else "other"), None, steps
        return "created", await demo_data.seed_demo(ctx, secret), steps

    outcome, seed, steps = run_with_host(work)
    if seed is None:
        if outcome == "demo":
            email = demo_data.DEMO_EMAIL
            click.echo(
                f"demo data exists: sign in as {email} (its password was printed when it was created; "
                f"forgot it? `difyd accounts set-password --email {email} --generate-password`)"
            )
        else:
            click.echo("accounts exist: no demo data added (run `difyd demo` to add it anyway)")
        _print_next_steps(steps)
        return
    _print_demo(seed)
    _print_next_steps(steps)


def _print_next_steps(steps: list[str]) -> None:
    """What the enabled plugins suggest trying next (the CLI login, then a first request)."""
    if steps:
        click.echo("next:")
        for step in steps:
            click.echo(f"  {step}")


def _print_demo(seed: DemoSeed) -> None:
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
