"""``difyd assets``: an app's tree and usage, and the sweeper run now."""

from __future__ import annotations

import json
from typing import Any

import click

from core.api import HostContext, parse_uuid, run_with_host
from plugins.app_assets import service
from plugins.app_assets.models import FILE, PENDING


@click.group(name="assets")
def assets() -> None:
    """App assets: file trees of apps."""


@assets.command("tree")
@click.option("--app", "app_ref", required=True, help="The app's id.")
@click.option("--json", "as_json", is_flag=True, help="Print the nested tree as JSON.")
def assets_tree(app_ref: str, as_json: bool) -> None:
    """An app's tree, one path per line (pending files marked), then its usage."""
    app_id = parse_uuid(app_ref)
    if app_id is None:
        raise click.ClickException(f"not an app id: {app_ref!r}")

    async def work(ctx: HostContext) -> tuple[int, Any]:
        async with ctx.session() as session:
            return await service.revision_of(session, app_id), await service.load_tree(session, app_id)

    revision, tree = run_with_host(work)
    if as_json:
        click.echo(json.dumps({"revision": revision, "children": tree.view()}, indent=2, ensure_ascii=False))
        return
    for node in sorted(tree.nodes.values(), key=lambda each: tree.path_of(each.id)):
        mark = "/" if node.node_type != FILE else ""
        state = "  (pending)" if node.status == PENDING else ""
        click.echo(f"{tree.path_of(node.id)}{mark}  {node.size if node.node_type == FILE else ''}{state}")
    files = [node for node in tree.nodes.values() if node.node_type == FILE]
    pending = sum(1 for node in files if node.status == PENDING)
    total = sum(node.size for node in files)
    click.echo(
        f"revision {revision}: {len(tree)} node(s), {len(files)} file(s), {total} bytes, {pending} pending"
    )


@assets.command("sweep")
def assets_sweep() -> None:
    """Run the sweeper now: files pending past the deadline, objects without a node, the delete outbox."""
    from plugins.app_assets.jobs import sweep

    async def work(ctx: HostContext) -> dict[str, int]:
        return await sweep({"host": ctx})

    counts = run_with_host(work)
    click.echo(
        f"removed {counts['stale_pending']} stale pending file(s), "
        f"{counts['orphan_objects']} orphan object(s)"
    )
