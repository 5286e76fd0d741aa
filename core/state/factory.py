"""Pick the state backend the settings name."""

from __future__ import annotations

from core.settings import Settings
from core.state.contract import StateStore
from core.state.memory import MemoryStateStore
from core.state.redis import RedisStateStore


def create_state_store(settings: Settings) -> StateStore:
    if settings.state.backend == "redis":
        redis = settings.redis
        return RedisStateStore.from_url(
            redis.url,
            settings.state.key_prefix,
            connect_timeout=redis.connect_timeout,
            socket_timeout=redis.socket_timeout,
        )
    return MemoryStateStore()
