"""Pick the state backend the settings name."""

from __future__ import annotations

from core.settings import Settings
from core.state.contract import StateStore
from core.state.memory import MemoryStateStore
from core.state.redis import RedisStateStore


def create_state_store(settings: Settings) -> StateStore:
    if settings.state.backend == "redis":
        return RedisStateStore.from_url(settings.redis.url, settings.state.key_prefix)
    return MemoryStateStore()
