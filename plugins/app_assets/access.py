"""Who may touch an app's assets: an account, by its console session (CSRF on writes) or its bearer
token with scope ``full`` (the core's ``account_guard``). Reading needs membership of the app's
workspace, writing the editor role or above; an app of another workspace answers 404 like no app at
all (ids do not leak)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.connection import ASGIConnection

from core.api import app_of_subject, current_subject, parse_uuid, require_role
from plugins.app_assets import errors
from plugins.app_assets.service import AppScope

# The app modes that have a file tree (upstream's rule: the agent-sandbox workflows).
ASSET_MODES = ("workflow", "advanced-chat")


async def app_scope(connection: ASGIConnection[Any, Any, Any, Any], app_id: str, *, write: bool) -> AppScope:
    """The app, if the caller may read it (and, for ``write``, edit it): 404 otherwise, 403 for a member
    below editor."""
    caller = current_subject(connection)
    parsed = parse_uuid(app_id)
    if parsed is None:
        raise errors.app_not_found()
    async with connection.app.state.host.reads.connect() as conn:
        found = await app_of_subject(conn, parsed, caller.memberships)
    if found is None:
        raise errors.app_not_found()
    if found.app.mode not in ASSET_MODES:
        raise errors.app_not_found(f"App mode is not in the supported list: {', '.join(ASSET_MODES)}")
    if write:
        require_role(caller, str(found.app.tenant_id), "editor")
    return AppScope(found.app.tenant_id, found.app.id, uuid.UUID(str(caller.account_id)))
