"""``difyd jobs``: the enabled plugins' jobs, listed, run here, or handed to the workers."""

from __future__ import annotations

import json
from typing import Any

import click

from core.admin.output import emit
from core.admin.runner import command_settings, run_with_host
from core.context import HostContext
from core.jobs.catalog import UnknownJob


@click.group()
def jobs() -> None:
    """Background jobs of the enabled plugins (named <plugin>.<function>)."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def jobs_list(as_json: bool) -> None:
    """Each job's name, its cron schedule if it has one, and what it does."""

    async def work(ctx: HostContext) -> list[Any]:
        return ctx.jobs.catalog.describe()

    emit([_row(info) for info in run_with_host(work)], as_json, _line)


def _row(info: Any) -> dict[str, Any]:
    return {"name": info.name, "plugin": info.plugin, "schedule": info.schedule, "summary": info.summary}


def _line(job: dict[str, Any]) -> str:
    schedule = f"  cron {job['schedule']}" if job["schedule"] else ""
    return f"{job['name']}{schedule}" + (f"\n  {job['summary']}" if job["summary"] else "")


def _arguments(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; a value that reads as JSON (numbers, true, lists) is taken as such."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{pair!r}: expected key=value", param_hint="--arg")
        try:
            kwargs[key] = json.loads(raw)
        except ValueError:
            kwargs[key] = raw
    return kwargs


@jobs.command("run")
@click.argument("name")
@click.option("--arg", "args", multiple=True, metavar="KEY=VALUE", help="A keyword argument of the job.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Hand the job to the workers (saq) and return at once, instead of running it here.",
)
def jobs_run(name: str, args: tuple[str, ...], enqueue: bool) -> None:
    """Run job NAME now, in this process, and print its result (or enqueue it with --enqueue)."""
    kwargs = _arguments(args)
    if enqueue and command_settings().jobs.backend != "saq":
        # The in-process runner lives in the server process: a task started in this short-lived
        # command would die with it, unrun or half run.
        raise click.ClickException(
            "jobs.backend is 'inprocess': there is no queue outside the server process to hand the job "
            f"to; run it here with `difyd jobs run {name}`"
        )

    async def work(ctx: HostContext) -> Any:
        try:
            full_name, function = ctx.jobs.catalog.function(name)
        except UnknownJob as exc:
            raise click.ClickException(str(exc)) from exc
        if enqueue:
            await ctx.jobs.enqueue(full_name, **kwargs)
            return f"enqueued {full_name}"
        result = await function({"host": ctx}, **kwargs)
        return f"{full_name}: {json.dumps(result, default=str)}"

    click.echo(run_with_host(work))
