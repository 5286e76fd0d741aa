"""The plugin's per-host objects (settings, storage), built once per HostContext."""

from __future__ import annotations

import asyncio
import datetime
import uuid
import weakref
from dataclasses import dataclass, field

from core.api import HostContext
from plugins.app_assets.settings import AppAssetsSettings
from plugins.app_assets.storage import LocalStorage, ObjectStorage

NAME = "app_assets"
_EXTRAS_KEY = "app_assets.runtime"


@dataclass
class Runtime:
    ctx: HostContext
    settings: AppAssetsSettings
    storage: ObjectStorage
    # One lock per app in this process, taken before the database's: the changes of one app queue here
    # instead of in SQLite's busy wait (which gives up after its timeout); unused locks go away.
    _locks: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def app_lock(self, app_id: uuid.UUID) -> asyncio.Lock:
        lock = self._locks.get(app_id)
        if lock is None:
            lock = self._locks[app_id] = asyncio.Lock()
        return lock

    def now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.ctx.clock(), datetime.UTC)


def runtime_of(ctx: HostContext) -> Runtime:
    runtime = ctx.extras.get(_EXTRAS_KEY)
    if runtime is None:
        settings: AppAssetsSettings = ctx.plugin_settings(NAME) or AppAssetsSettings()
        storage: ObjectStorage
        if settings.storage == "s3":
            from plugins.app_assets.s3 import S3Storage

            storage = S3Storage(settings.s3)
        else:
            storage = LocalStorage.for_host(ctx, settings.local_root)
        runtime = Runtime(ctx, settings, storage)
        ctx.extras[_EXTRAS_KEY] = runtime
    return runtime
