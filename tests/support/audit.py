"""Capture audit events in a test: a listener registered on the ``audit_event`` hook like any plugin."""

from __future__ import annotations

import uuid
from typing import Any

from core.hookspecs import hookimpl


class AuditRecorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    @hookimpl
    def audit_event(self, ctx: Any, event: Any) -> None:
        self.events.append(event)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [event.fields for event in self.events if event.name == name]


def record_audit(host: Any) -> AuditRecorder:
    recorder = AuditRecorder()
    host.plugins.manager.register(recorder, name=f"audit_recorder_{uuid.uuid4().hex[:6]}")
    return recorder
