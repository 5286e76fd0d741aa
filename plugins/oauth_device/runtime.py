"""The plugin's per-host objects (settings, clock, stores), built once per HostContext."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from core.context import HostContext
from plugins.oauth_device.abuse import PollBucket
from plugins.oauth_device.device_state import POLL_INTERVAL, SEAL_PURPOSE, DeviceCodeStore
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
    # A poll sooner than this after the previous one for the same code answers slow_down (RFC 8628
    # §3.5). Fixed by the spec; a test sets 0 to let a crowd of pollers race for the state itself.
    poll_interval: float = POLL_INTERVAL
    poll_bucket: PollBucket = field(init=False)

    def __post_init__(self) -> None:
        self.poll_bucket = PollBucket(self.settings.poll_limit_per_ip)

    @property
    def clock(self) -> Callable[[], float]:
        """The host's clock (``HostContext.clock``): moving it moves the plugin and its jobs together."""
        return self.ctx.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.ctx.clock = clock

    def now(self) -> float:
        return self.ctx.clock()

    def now_dt(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.ctx.clock(), datetime.UTC)


def runtime_of(ctx: HostContext) -> Runtime:
    runtime = ctx.extras.get(_EXTRAS_KEY)
    if runtime is None:
        settings = ctx.plugin_settings(NAME) or OAuthDeviceSettings()
        tokens = TokenRepository(ctx.session_maker, ctx.reads)
        store = DeviceCodeStore(ctx.state, ctx.sealer(SEAL_PURPOSE))
        runtime = Runtime(ctx, settings, store, tokens)
        ctx.extras[_EXTRAS_KEY] = runtime
    return runtime
