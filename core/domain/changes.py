"""Changes to the domain that caches depend on, announced after their transaction commits.

When memberships change, every cached token's membership snapshot is stale: this says so.

The auth cache keeps each account token's workspaces (id -> role) beside the token for up to 60 s. One
counter in the state store, the membership generation, moves on every membership change; a cached
entry remembers the generation it was built under and is rebuilt when they differ. The counter is read
in the same round trip as the cache entry (``get_many``), so invalidation costs a hot request nothing.

Membership writes go through ``core.domain.services``, which notes the change on the session;
``HostContext.session()`` bumps the generation once the transaction has committed.
"""

from __future__ import annotations

from typing import Any

from core.state.contract import StateStore

GENERATION_KEY = "auth:membership_generation"
CHANGES = "difyd.changes"  # key in a SQLAlchemy session's ``info``: what the transaction changed
MEMBERSHIPS = "memberships"


def note_change(info: dict[str, Any], what: str) -> None:
    """Record on a session's ``info`` that its transaction changes ``what`` (acted on after commit)."""
    info.setdefault(CHANGES, set()).add(what)


def generation_of(raw: bytes | None) -> bytes:
    return raw or b"0"


async def memberships_changed(state: StateStore) -> None:
    """Move the generation: every cached membership snapshot, on every replica, is rebuilt on next use."""
    await state.incr(GENERATION_KEY)
