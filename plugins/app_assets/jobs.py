"""Background work: deleting the bytes of deleted nodes (from the outbox, retried until storage says
done; deleting twice is harmless), and the sweeper (files left pending past the deadline, and objects
no node references any more). Both run on saq workers or in process, the same functions."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import structlog
from sqlalchemy import delete, select

from core.api import host_of
from plugins.app_assets import service
from plugins.app_assets.models import PENDING, AssetNode, DeletedObject
from plugins.app_assets.runtime import runtime_of
from plugins.app_assets.service import AppScope
from plugins.app_assets.storage import STAGED, StorageError

log = structlog.get_logger("difyd.app_assets")
BATCH = 500


async def delete_objects(ctx: dict[str, Any]) -> int:
    """Delete the outbox's objects from storage, then their outbox rows; returns how many went. A key
    storage refuses stays in the outbox for the next run (every five minutes, and after each delete)
    and does not hold up the others."""
    host = host_of(ctx)
    runtime = runtime_of(host)
    done, failed = 0, 0
    while True:
        async with host.session() as session:
            rows = (
                await session.execute(
                    select(DeletedObject.id, DeletedObject.object_key)
                    .order_by(DeletedObject.id)
                    .offset(failed)
                    .limit(BATCH)
                )
            ).all()
        if not rows:
            return done
        deleted = []
        for row_id, key in rows:
            try:
                await runtime.storage.delete(key)
                deleted.append(row_id)
            except StorageError as exc:
                failed += 1
                log.warning("app_assets_delete_failed", object_key=key, error=str(exc))
        if deleted:
            async with host.session() as session:
                await session.execute(delete(DeletedObject).where(DeletedObject.id.in_(deleted)))
        done += len(deleted)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Remove files still pending ``pending_hours`` after creation (their upload never completed) and
    objects whose node is gone; returns how many of each."""
    host = host_of(ctx)
    runtime = runtime_of(host)
    cutoff = runtime.now() - datetime.timedelta(hours=runtime.settings.pending_hours)
    async with host.session() as session:
        stale = (
            await session.execute(
                select(AssetNode.tenant_id, AssetNode.app_id, AssetNode.id).where(
                    AssetNode.status == PENDING, AssetNode.created_at < cutoff
                )
            )
        ).all()
    by_app: dict[tuple[uuid.UUID, uuid.UUID], list[uuid.UUID]] = {}
    for tenant_id, app_id, node_id in stale:
        by_app.setdefault((tenant_id, app_id), []).append(node_id)
    removed = 0
    for (tenant_id, app_id), node_ids in by_app.items():
        removed += await service.remove_stale(runtime, AppScope(tenant_id, app_id, None), node_ids, cutoff)
    orphans = await _delete_orphans(host, runtime)
    if removed or orphans:
        log.info("app_assets_swept", stale_pending=removed, orphan_objects=orphans)
        await delete_objects(ctx)
    return {"stale_pending": removed, "orphan_objects": orphans}


async def _delete_orphans(host: Any, runtime: Any) -> int:
    """Objects under ``app_assets/`` whose node is gone go to the outbox, and so do staged uploads
    (S3) whose node is gone or already complete."""
    found = 0
    batch: list[tuple[str, uuid.UUID, bool]] = []

    async def flush() -> int:
        ids = [node_id for _, node_id, _ in batch]
        async with host.session() as session:
            rows = await session.execute(select(AssetNode.id, AssetNode.status).where(AssetNode.id.in_(ids)))
            status = dict(rows.tuples().all())
            orphaned = [
                key
                for key, node_id, staged in batch
                if node_id not in status or (staged and status[node_id] != PENDING)
            ]
            await service.outbox(session, orphaned, runtime)
        batch.clear()
        return len(orphaned)

    async for key in runtime.storage.object_keys():
        name = key.rsplit("/", 1)[1]
        staged = name.endswith(STAGED)
        try:
            batch.append((key, uuid.UUID(name.removesuffix(STAGED)), staged))
        except ValueError:
            continue  # not one of ours
        if len(batch) >= BATCH:
            found += await flush()
    if batch:
        found += await flush()
    return found
