"""The plugin's per-host objects (settings, clock, stores), built once per HostContext."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.context import HostContext
from plugins.oauth_device.device_state import DeviceCodeStore
from plugins.oauth_device.settings import OAuthDeviceSettings
from plugins.oauth_device.tokens import TokenRepository

NAME = "oauth_device"
_EXTRAS_KEY = "oauth_device.runtime"


@dataclass
class Runtime:
    ctx: HostContext
    settings: OAuthDeviceSettings
    store: DeviceCodeStore
    tokens: TokenRepository
    # Epoch seconds; tests replace it to move time without sleeping.
    clock: Callable[[], float] = field(default=time.time)

    def now(self) -> float:
        return self.clock()

    def now_dt(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)


def runtime_of(ctx: HostContext) -> Runtime:
    runtime = ctx.extras.get(_EXTRAS_KEY)
    if runtime is None:
        settings = ctx.plugin_settings(NAME) or OAuthDeviceSettings()
        tokens = TokenRepository(ctx.session_maker, ctx.reads)
        runtime = Runtime(ctx, settings, DeviceCodeStore(ctx.state), tokens)
        ctx.extras[_EXTRAS_KEY] = runtime
    return runtime
