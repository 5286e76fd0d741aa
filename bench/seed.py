"""Benchmark data through the domain services; large app counts by bulk INSERT (same tables and defaults)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from knobs import PASSWORD
from sqlalchemy import insert

from core.app import build_context
from core.context import HostContext
from core.domain import services
from core.domain.models import App, TagBinding

MODES = ("chat", "workflow", "completion", "advanced-chat", "agent-chat")
TAGS = ("demo", "prod", "internal", "beta", "support")
CHUNK = 5_000
# The models' own id default (UUIDv7; SQLAlchemy wraps it to take an execution context).
_id_default = App.__table__.c.id.default.arg  # type: ignore[union-attr]


def _new_id() -> uuid.UUID:
    return _id_default(None)


# The contract's describe example: a chat app with one required text input.
GREETER_CONFIG: dict[str, Any] = {
    "opening_statement": "Hi, I am Greeter.",
    "suggested_questions": ["What is your name?"],
    "user_input_form": [
        {"text-input": {"variable": "name", "label": "Your name", "required": True, "max_length": 48}},
        {"select": {"variable": "tier", "label": "Tier", "required": True, "options": ["free", "pro"]}},
        {"paragraph": {"variable": "context", "label": "Context", "required": False, "max_length": 4000}},
    ],
}


@dataclass
class Seeded:
    email: str
    account_id: uuid.UUID
    workspaces: dict[str, uuid.UUID] = field(default_factory=dict)  # label -> id
    describe_app: uuid.UUID | None = None


async def seed_owner(ctx: HostContext, email: str = "bench@example.com", workspace: str = "Bench") -> Seeded:
    async with ctx.session() as session:
        account = await services.create_account(session, email, "Bench Owner", PASSWORD)
        ws = await services.create_workspace(session, workspace)
        await services.add_member(session, ws.id, account.id, "owner")
    return Seeded(email, account.id, {workspace: ws.id})


async def add_workspace(ctx: HostContext, seeded: Seeded, label: str) -> uuid.UUID:
    async with ctx.session() as session:
        ws = await services.create_workspace(session, f"Bench {label}")
        await services.add_member(session, ws.id, seeded.account_id, "owner")
    seeded.workspaces[label] = ws.id
    return ws.id


async def seed_apps(ctx: HostContext, seeded: Seeded, workspace_id: uuid.UUID, count: int) -> uuid.UUID:
    """``count`` apps, a fifth of them tagged; the first ones through the services, the rest in bulk.

    Returns the id of a Greeter app (chat, with a user input form) for describe.
    """
    by_services = min(count, 100)
    greeter: uuid.UUID | None = None
    async with ctx.session() as session:
        for index in range(by_services):
            app = await services.create_app(
                session,
                workspace_id,
                f"app {index:06d}",
                MODES[index % len(MODES)],
                description=f"Benchmark app {index}",
                created_by=seeded.account_id,
                config=GREETER_CONFIG if index == 0 else None,
                tags=_tags_of(index),
            )
            if index == 0:
                greeter = app.id
        # The first 100 apps created every tag; bulk rows bind to them by id.
        tag_ids = {name: await _tag_id(session, workspace_id, name) for name in TAGS}
    remaining = count - by_services
    start = datetime.now(UTC) - timedelta(days=30)
    written = 0
    while written < remaining:
        size = min(CHUNK, remaining - written)
        rows, bindings = [], []
        for offset in range(size):
            index = by_services + written + offset
            app_id = _new_id()
            stamp = start + timedelta(seconds=index)
            rows.append(
                {
                    "id": app_id,
                    "tenant_id": workspace_id,
                    "name": f"app {index:06d}",
                    "description": f"Benchmark app {index}",
                    "mode": MODES[index % len(MODES)],
                    "icon": "🤖",
                    "icon_background": "#FFEAD5",
                    "enable_api": True,
                    "is_universal": False,
                    "status": "normal",
                    "created_by": seeded.account_id,
                    "config": None,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
            )
            for tag_name in _tags_of(index):
                bindings.append(
                    {
                        "id": _new_id(),
                        "tenant_id": workspace_id,
                        "tag_id": tag_ids[tag_name],
                        "target_id": app_id,
                        "created_by": seeded.account_id,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                )
        async with ctx.session() as session:
            await session.execute(insert(App), rows)
            if bindings:
                await session.execute(insert(TagBinding), bindings)
        written += size
    assert greeter is not None
    return greeter


def _tags_of(index: int) -> list[str]:
    """Every fifth app carries one tag; the five tags take turns."""
    return [TAGS[(index // 5) % len(TAGS)]] if index % 5 == 0 else []


async def _tag_id(session: Any, workspace_id: uuid.UUID, name: str) -> uuid.UUID:
    from sqlalchemy import select

    from core.domain.models import Tag

    return (
        await session.execute(
            select(Tag.id).where(Tag.tenant_id == workspace_id, Tag.type == "app", Tag.name == name)
        )
    ).scalar_one()


async def with_context(settings: Any, work: Any) -> Any:
    """Run ``work(ctx)`` with a host context on the benchmark's settings, then release its connections."""
    ctx = build_context(settings)
    try:
        return await work(ctx)
    finally:
        await ctx.engine.dispose()
        close = getattr(ctx.state, "close", None)
        if close is not None:
            await close()


async def seed_account_pool(ctx: HostContext, workspace_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """``count`` members of the workspace without passwords: their console sessions are issued directly."""
    ids: list[uuid.UUID] = []
    async with ctx.session() as session:
        for index in range(count):
            account = await services.create_account(session, f"pool{index:05d}@example.com", f"Pool {index}")
            await services.add_member(session, workspace_id, account.id, "editor")
            ids.append(account.id)
    return ids


def console_session(settings: Any, account_id: uuid.UUID) -> tuple[str, str]:
    """(Cookie header, X-CSRF-Token) exactly as POST /console/api/login would set them for the account."""
    from core.auth.console import ACCESS_COOKIE, CSRF_COOKIE, cookie_name, issue_csrf, issue_passport

    csrf = issue_csrf(settings, account_id)
    cookie = (
        f"{cookie_name(settings, ACCESS_COOKIE)}={issue_passport(settings, account_id)}; "
        f"{cookie_name(settings, CSRF_COOKIE)}={csrf}"
    )
    return cookie, csrf
