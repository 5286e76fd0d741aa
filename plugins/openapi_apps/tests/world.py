"""The data every test of this plugin reads: two people, three workspaces, apps of every kind.

Built through the core domain services (what the admin CLI uses), so apps look like the CLI makes them.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update

from core.context import HostContext
from core.domain.models import App
from core.testing import factories
from core.testing.factories import Person

GREETER_CONFIG: dict[str, Any] = {
    "opening_statement": "Hi, I am Greeter.",
    "suggested_questions": ["What is your name?"],
    "user_input_form": [
        {"text-input": {"variable": "name", "label": "Your name", "required": True, "max_length": 48}}
    ],
}

WORKFLOW_CONFIG: dict[str, Any] = {
    "features": {"file_upload": {"image": {"enabled": True, "number_limits": 5}}},
    "graph": {
        "nodes": [
            {"id": "1", "data": {"type": "start", "variables": [
                {"type": "text-input", "variable": "topic", "label": "Topic", "required": True,
                 "max_length": 64},
                {"type": "select", "variable": "tone", "label": "Tone", "required": False,
                 "options": ["dry", "warm"]},
                {"type": "file", "variable": "doc", "label": "Doc", "required": False},
            ]}},
            {"id": "2", "data": {"type": "end"}},
        ]
    },
}


@dataclass
class World:
    alice: Person
    bob: Person
    acme: Any  # alice owner (current), oldest
    shared: Any  # alice editor, bob normal
    bobs: Any  # bob only
    apps: dict[str, Any] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return str(self.apps[name].id)


async def _set(host: HostContext, app: Any, **values: Any) -> None:
    async with host.session() as session:
        await session.execute(update(App).where(App.id == app.id).values(**values))


async def build_world(host: HostContext) -> World:
    alice = await factories.person(host, "alice@example.com", "Alice Anders")
    bob = await factories.person(host, "bob@example.com", "Bob Brown")
    acme = await factories.workspace(host, "Acme", (alice, "owner"))
    shared = await factories.workspace(host, "Shared", (alice, "editor"), (bob, "normal"))
    bobs = await factories.workspace(host, "Bobs", (bob, "owner"))
    world = World(alice, bob, acme, shared, bobs)
    a = alice.account.id

    async def make(ws: Any, name: str, mode: str, key: str | None = None, **kw: Any) -> None:
        world.apps[key or name] = await factories.app(host, ws, name, mode, **kw)

    # Acme, oldest first (the list shows newest first).
    await make(acme, "Greeter", "chat", description="A simple greeting bot", created_by=a,
               config=GREETER_CONFIG, tags=["demo"])
    await make(acme, "Nightly Report", "workflow", created_by=a, config=WORKFLOW_CONFIG, tags=["prod", "wip"])
    await make(acme, "Writer", "completion", created_by=a, config={"pre_prompt": "write"})
    await make(acme, "Agent Smith", "agent-chat", created_by=a, config={})
    await make(acme, "Flow Chat", "advanced-chat", created_by=a, config=None)  # misconfigured
    await make(acme, "100%_done", "chat", created_by=None, tags=["prod"])  # creator unknown
    await make(acme, "Hidden API", "chat", created_by=a, enable_api=False)
    await make(acme, "Old Stuff", "chat", created_by=a, status="archived")
    await make(acme, "Everywhere", "chat", created_by=a)
    await _set(host, world.apps["Everywhere"], is_universal=True)
    await make(acme, "Channel", "channel", created_by=a)
    # Two apps share a name: describe by name answers 409.
    await make(acme, "Twin", "chat", "Twin#chat", created_by=a)
    await make(acme, "Twin", "workflow", "Twin#workflow", created_by=a)
    await make(acme, "Support Bot", "chat", created_by=a, tags=["prod"])
    # Other workspaces.
    await make(shared, "Shared App", "workflow", created_by=bob.account.id, config=WORKFLOW_CONFIG)
    await make(bobs, "Bob Bot", "chat", created_by=bob.account.id, tags=["prod"])
    await make(bobs, "Bob Hidden", "chat", created_by=bob.account.id, enable_api=False)
    await _set(host, world.apps["Greeter"], updated_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC))
    return world


# Acme apps a list shows, newest first.
ACME_LISTED = ["Support Bot", "Twin#workflow", "Twin#chat", "100%_done", "Flow Chat", "Agent Smith", "Writer",
               "Nightly Report", "Greeter"]


def random_uuid() -> str:
    return str(uuid.uuid4())
