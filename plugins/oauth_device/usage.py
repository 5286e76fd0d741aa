"""``last_used_at`` bookkeeping, off the request's SQL path and at most one write per token per minute.

Resolution (a cache miss, so about once a minute per token) drops a marker
``oauth:last_used:<token_id>`` (set-if-absent, 60 s) and, when it wins, appends the use to a per-minute
queue in the state store (two round trips for a winner, one otherwise). The ``flush_token_usage``
cron job drains finished minutes in one batched UPDATE. Both backends share this path, so API
replicas and saq workers need no shared memory.
"""

from __future__ import annotations

import datetime
import uuid

from core.domain.ids import parse_uuid
from core.state.contract import Incr, SetIfAbsent, StateStore
from plugins.oauth_device.tokens import TokenRepository

MARKER_TTL = 60
QUEUE_TTL = 3600
# How far back a first flush looks for queued uses (the cursor is unknown then).
FIRST_FLUSH_LOOKBACK_MINUTES = 60


def marker_key(token_id: str) -> str:
    return f"oauth:last_used:{token_id}"


def _count_key(minute: int) -> str:
    return f"oauth:last_used:q:{minute}"


def _entry_key(minute: int, index: int) -> str:
    return f"oauth:last_used:q:{minute}:{index}"


CURSOR_KEY = "oauth:last_used:cursor"


async def record_use(state: StateStore, token_id: str, now: float) -> bool:
    """Queue one use of the token unless one was queued in the last minute; True when queued.

    One round trip takes the marker and a slot in the minute's queue together; only a winner writes
    its entry (a second round trip). A slot taken by a loser stays empty, which the flush skips.
    """
    minute = int(now // 60)
    won, index = await state.batch(
        [
            SetIfAbsent(marker_key(token_id), repr(now).encode(), ttl=MARKER_TTL),
            Incr(_count_key(minute), ttl=QUEUE_TTL),
        ]
    )
    if not won:
        return False
    await state.set(_entry_key(minute, index), f"{token_id} {now!r}".encode(), ttl=QUEUE_TTL)
    return True


async def flush_uses(state: StateStore, repository: TokenRepository, now: float) -> int:
    """Write every queued use of finished minutes; returns how many rows were updated."""
    current = int(now // 60)
    raw_cursor = await state.get(CURSOR_KEY)
    start = int(raw_cursor) if raw_cursor else current - FIRST_FLUSH_LOOKBACK_MINUTES
    latest: dict[uuid.UUID, float] = {}
    minutes = range(start, current)
    counts = await state.get_many([_count_key(minute) for minute in minutes]) if minutes else []
    for minute, raw_count in zip(minutes, counts, strict=True):
        if not raw_count:
            continue
        keys = [_entry_key(minute, index) for index in range(1, int(raw_count) + 1)]
        for value in await state.get_many(keys):
            if not value:
                continue
            token_text, _, used_text = value.decode().partition(" ")
            token_id = parse_uuid(token_text)
            try:
                used = float(used_text)
            except ValueError:
                continue
            if token_id is not None and used > latest.get(token_id, 0.0):
                latest[token_id] = used
        await state.delete(_count_key(minute), *keys)
    await state.set(CURSOR_KEY, str(current).encode(), ttl=QUEUE_TTL * 24)
    uses = [
        (token_id, datetime.datetime.fromtimestamp(used, datetime.UTC)) for token_id, used in latest.items()
    ]
    return await repository.record_last_used(uses)
