"""Security events. Plugins emit them through ``HostContext.audit``; the core's sink logs them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from core.hookspecs import hookimpl

if TYPE_CHECKING:
    from core.context import HostContext

log = structlog.get_logger("difyd.audit")


class AuditEvent(msgspec.Struct, frozen=True):
    """``name`` like ``oauth.device_flow_approved``; ``fields`` never hold a token or its hash."""

    name: str
    fields: dict[str, Any] = {}


class AuditLogSink:
    """The default sink: one structured log line per event (registered by the core as a plugin)."""

    @hookimpl
    def audit_event(self, ctx: HostContext, event: AuditEvent) -> None:
        log.info(event.name, **event.fields)
