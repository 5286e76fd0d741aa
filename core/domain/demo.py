"""Demo data for a first look: one account, two workspaces and an app of every user-facing mode.

The app configurations are shaped like Dify's own (an app model config for the easy-UI modes, a
workflow graph with a start node for ``workflow`` and ``advanced-chat``), so ``difyctl describe app``
shows realistic ``parameters`` and ``input_schema`` blocks.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from core.context import HostContext
from core.domain import services
from core.plugins import call_hooks

DEMO_EMAIL = "demo@example.com"
DEMO_NAME = "Demo User"
# A second person, so that apps show different authors and a workspace has several members.
TEAMMATE_EMAIL = "sam@example.com"
TEAMMATE_NAME = "Sam Rivera"
# Feature toggles a config leaves out take their documented defaults when `parameters` is derived,
# so the demo stores only what differs from them.


def _model(name: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"provider": "openai", "name": name, "mode": "chat", "completion_params": {"temperature": 0.7}}


def _workflow(variables: list[dict[str, Any]], features: dict[str, Any], answer_node: str) -> dict[str, Any]:
    """A published workflow document: features plus a start -> llm -> end/answer graph."""
    nodes = [
        {
            "id": "start",
            "type": "custom",
            "data": {"type": "start", "title": "Start", "variables": variables},
        },
        {"id": "llm", "type": "custom", "data": {"type": "llm", "title": "LLM", "model": _model()}},
        {"id": answer_node, "type": "custom", "data": {"type": answer_node, "title": answer_node.title()}},
    ]
    edges = [
        {"id": "start-llm", "source": "start", "target": "llm"},
        {"id": f"llm-{answer_node}", "source": "llm", "target": answer_node},
    ]
    return {"features": features, "graph": {"nodes": nodes, "edges": edges}}


def _variable(kind: str, variable: str, label: str, required: bool, **extra: Any) -> dict[str, Any]:
    return {"variable": variable, "label": label, "type": kind, "required": required, **extra}


TRIP_PLANNER = {
    "opening_statement": "Hi! Tell me where you are going and I'll plan the trip.",
    "suggested_questions": ["Plan a weekend in Lisbon", "What should I pack for Iceland in March?"],
    "suggested_questions_after_answer": {"enabled": True},
    "pre_prompt": "You plan trips for {{traveller}} to {{destination}}. Budget: {{budget}}.",
    "model": _model(),
    "user_input_form": [
        {
            "text-input": {
                "variable": "traveller",
                "label": "Your name",
                "required": True,
                "max_length": 48,
                "default": "",
            }
        },
        {
            "paragraph": {
                "variable": "destination",
                "label": "Where to, and what you like",
                "required": True,
                "max_length": 2000,
                "default": "",
            }
        },
        {
            "select": {
                "variable": "budget",
                "label": "Budget",
                "required": True,
                "options": ["backpacker", "comfortable", "luxury"],
                "default": "comfortable",
            }
        },
        {"number": {"variable": "days", "label": "Number of days", "required": False, "default": ""}},
    ],
}

SUMMARIZER = {
    "opening_statement": None,
    "suggested_questions": [],
    "more_like_this": {"enabled": True},
    "pre_prompt": "Summarise the text below in a {{tone}} tone.\n\n{{text}}",
    "model": {**_model(), "mode": "completion"},
    "user_input_form": [
        {
            "paragraph": {
                "variable": "text",
                "label": "Text to summarise",
                "required": True,
                "max_length": 8000,
                "default": "",
            }
        },
        {
            "select": {
                "variable": "tone",
                "label": "Tone",
                "required": False,
                "options": ["neutral", "friendly", "formal"],
                "default": "neutral",
            }
        },
    ],
}

INVOICE_EXTRACTOR = _workflow(
    [
        _variable(
            "file",
            "invoice",
            "Invoice (PDF or image)",
            True,
            allowed_file_types=["document", "image"],
            allowed_file_extensions=[],
            allowed_file_upload_methods=["local_file", "remote_url"],
        ),
        _variable(
            "file-list",
            "attachments",
            "Supporting documents",
            False,
            max_length=5,
            allowed_file_types=["document"],
            allowed_file_extensions=[],
            allowed_file_upload_methods=["local_file"],
        ),
        _variable("select", "currency", "Currency", True, options=["EUR", "USD", "GBP"]),
        _variable("text-input", "reference", "Purchase order reference", False, max_length=64),
    ],
    {
        "file_upload": {
            "enabled": True,
            "allowed_file_types": ["document", "image"],
            "number_limits": 5,
            "allowed_file_upload_methods": ["local_file", "remote_url"],
        }
    },
    "end",
)

SUPPORT_DESK = _workflow(
    [
        _variable("select", "product", "Product", True, options=["Cloud", "Self-hosted", "Mobile app"]),
        _variable("text-input", "customer_id", "Customer id", False, max_length=32),
    ],
    {
        "opening_statement": "Hello, this is the support desk. Which product can I help you with?",
        "suggested_questions": ["How do I reset my password?", "Where are my invoices?"],
        "suggested_questions_after_answer": {"enabled": True},
        "retriever_resource": {"enabled": True},
    },
    "answer",
)

RESEARCH_AGENT = {
    "opening_statement": "I search the web and summarise what I find. What should I look into?",
    "suggested_questions": ["Compare three open-source vector databases"],
    "pre_prompt": "You are a careful research assistant. Cite your sources.",
    "model": _model("gpt-4o"),
    "agent_mode": {
        "enabled": True,
        "strategy": "function_call",
        "max_iteration": 5,
        "tools": [
            {
                "provider_type": "builtin",
                "provider_id": "duckduckgo",
                "tool_name": "ddgo_search",
                "tool_parameters": {},
                "enabled": True,
            },
        ],
    },
    "user_input_form": [
        {
            "select": {
                "variable": "depth",
                "label": "Depth",
                "required": False,
                "options": ["quick", "thorough"],
                "default": "quick",
            }
        },
    ],
}

DRAFT_ASSISTANT = {
    "opening_statement": "Work in progress: not published to the API yet.",
    "suggested_questions": [],
    "model": _model(),
    "user_input_form": [],
}

RELEASE_NOTES = _workflow(
    [
        _variable("paragraph", "changes", "Merged pull requests (one per line)", True, max_length=10000),
        _variable("text-input", "version", "Version", True, max_length=20),
        _variable("number", "max_items", "Highlight at most", False),
    ],
    {},
    "end",
)


@dataclass(frozen=True)
class DemoApp:
    name: str
    mode: str
    description: str
    tags: tuple[str, ...]
    config: dict[str, Any]
    icon: str = "🤖"
    enable_api: bool = True
    by_teammate: bool = False


# Workspace name -> its apps. The first workspace becomes the demo account's current one.
DEMO_WORKSPACES: dict[str, tuple[DemoApp, ...]] = {
    "Demo Workspace": (
        DemoApp(
            "Trip Planner",
            "chat",
            "Plans trips from a destination, a budget and a number of days.",
            ("demo", "travel"),
            TRIP_PLANNER,
            icon="🧳",
        ),
        DemoApp(
            "Summarizer",
            "completion",
            "Summarises a text in the tone you choose.",
            ("demo", "writing"),
            SUMMARIZER,
            icon="📝",
        ),
        DemoApp(
            "Invoice Extractor",
            "workflow",
            "Reads an invoice file and returns its line items as JSON.",
            ("finance",),
            INVOICE_EXTRACTOR,
            icon="🧾",
            by_teammate=True,
        ),
        DemoApp(
            "Support Desk",
            "advanced-chat",
            "Answers product questions from the knowledge base.",
            ("demo", "support"),
            SUPPORT_DESK,
            icon="🎧",
        ),
        DemoApp(
            "Research Agent",
            "agent-chat",
            "Searches the web with tools and summarises its findings.",
            ("agent",),
            RESEARCH_AGENT,
            icon="🔎",
            by_teammate=True,
        ),
        DemoApp(
            "Draft Assistant",
            "chat",
            "Not published yet: its service API is disabled.",
            ("draft",),
            DRAFT_ASSISTANT,
            enable_api=False,
        ),
    ),
    "Side Project": (
        DemoApp(
            "Release Notes Writer",
            "workflow",
            "Turns merged pull requests into release notes.",
            ("writing",),
            RELEASE_NOTES,
            icon="🚀",
        ),
    ),
}


@dataclass
class DemoSeed:
    """What the seeder created; ``as_hook_seed()`` is what the ``demo_data`` hook receives."""

    account: dict[str, str]
    password: str
    workspaces: list[dict[str, str]] = field(default_factory=list)
    apps: list[dict[str, Any]] = field(default_factory=list)

    def as_hook_seed(self) -> dict[str, Any]:
        return {"account": dict(self.account), "workspaces": list(self.workspaces), "apps": list(self.apps)}


def generate_password() -> str:
    """16 random letters and digits in four groups: easy to read out, ~95 bits of entropy."""
    alphabet = string.ascii_letters + string.digits
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


async def seed_demo(ctx: HostContext, password: str) -> DemoSeed:
    """Write the demo rows in one transaction, then let every plugin add its own (``demo_data`` hook)."""
    async with ctx.session() as session:
        account = await services.create_account(session, DEMO_EMAIL, DEMO_NAME, password)
        teammate = await services.account_by_email(session, TEAMMATE_EMAIL)
        if teammate is None:
            teammate = await services.create_account(session, TEAMMATE_EMAIL, TEAMMATE_NAME)
        seed = DemoSeed(
            account={"id": str(account.id), "email": account.email, "name": account.name}, password=password
        )
        for index, (workspace_name, apps) in enumerate(DEMO_WORKSPACES.items()):
            workspace = await services.create_workspace(session, workspace_name)
            await services.add_member(
                session, workspace.id, account.id, "owner" if index == 0 else "editor", current=index == 0
            )
            await services.add_member(
                session, workspace.id, teammate.id, "editor" if index == 0 else "owner", current=False
            )
            seed.workspaces.append({"id": str(workspace.id), "name": workspace.name})
            for spec in apps:
                app = await services.create_app(
                    session,
                    workspace.id,
                    spec.name,
                    spec.mode,
                    description=spec.description,
                    created_by=(teammate if spec.by_teammate else account).id,
                    enable_api=spec.enable_api,
                    icon=spec.icon,
                    config=spec.config,
                    tags=spec.tags,
                )
                seed.apps.append(
                    {
                        "id": str(app.id),
                        "name": app.name,
                        "mode": app.mode,
                        "workspace_id": str(workspace.id),
                        "enable_api": app.enable_api,
                    }
                )
    await call_hooks(ctx.plugins.hook.demo_data, ctx=ctx, seed=seed.as_hook_seed())
    return seed
