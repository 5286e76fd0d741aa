"""`difyd demo`: the demo account, workspaces and apps `make run` seeds, and the demo_data hook."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from core import app as core_app
from core.auth.passwords import verify_password
from core.domain import services
from core.domain.demo import DEMO_EMAIL
from core.domain.models import USER_FACING_MODES, App, Membership, Workspace
from core.hookspecs import hookimpl
from core.settings import PluginsSettings
from core.testing import factories
from tests.admin.conftest import settings_toml


def _printed_password(output: str) -> str:
    match = re.search(r"password:\s+(\S+)", output)
    assert match, output
    return match.group(1)


async def test_demo_seeds_and_prints_credentials(difyd, host, settings):
    """The demo prints an email and a password that signs in, and the difyctl command to run next."""
    result = await difyd("demo")
    assert result.exit_code == 0, result.output
    assert DEMO_EMAIL in result.output
    password = _printed_password(result.output)
    async with host.session() as session:
        account = await services.account_by_email(session, DEMO_EMAIL)
    assert verify_password(account.password_hash, password)
    # Where clients reach the API, from configuration (console_api_url / console_web_url).
    assert f"difyctl auth login --host {settings.public_api_url} --insecure" in result.output
    assert "difyctl get app" in result.output


async def test_demo_has_two_workspaces_and_every_mode(difyd, host):
    """Two workspaces (one current), an app of every user-facing mode, tags, one app with the API off."""
    assert (await difyd("demo", "--password", "demo-password")).exit_code == 0
    async with host.session() as session:
        account = await services.account_by_email(session, DEMO_EMAIL)
        joins = list(
            (await session.execute(select(Membership).where(Membership.account_id == account.id))).scalars()
        )
        apps = list((await session.execute(select(App))).scalars())
        workspace_count = (await session.execute(select(func.count()).select_from(Workspace))).scalar_one()
    assert workspace_count == 2 and len(joins) == 2
    assert sum(join.current for join in joins) == 1
    assert {app.mode for app in apps} == {mode.value for mode in USER_FACING_MODES}
    assert [app.name for app in apps if not app.enable_api] == ["Draft Assistant"]
    assert verify_password(account.password_hash, "demo-password")


async def test_demo_input_forms_are_realistic(difyd, host):
    """The chat app's form has text-input, paragraph, select and number rows; a workflow asks for a file."""
    assert (await difyd("demo", "--password", "demo-password")).exit_code == 0
    async with host.session() as session:
        apps = {app.name: app for app in (await session.execute(select(App))).scalars()}
    chat_form = apps["Trip Planner"].config["user_input_form"]
    assert [next(iter(row)) for row in chat_form] == ["text-input", "paragraph", "select", "number"]
    assert all(len(row) == 1 and "variable" in next(iter(row.values())) for row in chat_form)
    nodes = apps["Invoice Extractor"].config["graph"]["nodes"]
    start = next(node for node in nodes if node["data"]["type"] == "start")
    assert {"file", "file-list"} <= {variable["type"] for variable in start["data"]["variables"]}
    assert "features" in apps["Support Desk"].config


async def test_demo_if_empty_runs_once(difyd, host):
    """--if-empty seeds an empty database, then only says the demo exists (no second password)."""
    first = await difyd("demo", "--if-empty")
    assert first.exit_code == 0 and "demo data created" in first.output
    again = await difyd("demo", "--if-empty")
    assert again.exit_code == 0, again.output
    assert "demo data exists" in again.output and DEMO_EMAIL in again.output
    assert "password:" not in again.output
    async with host.session() as session:
        assert (await session.execute(select(func.count()).select_from(Workspace))).scalar_one() == 2


async def test_demo_if_empty_leaves_existing_accounts_alone(difyd, host):
    """--if-empty does nothing when any account exists, even one that is not the demo's."""
    await factories.person(host, "owner@example.com")
    result = await difyd("demo", "--if-empty")
    assert result.exit_code == 0 and "no demo data added" in result.output
    async with host.session() as session:
        assert (await session.execute(select(func.count()).select_from(App))).scalar_one() == 0


async def test_demo_twice_without_if_empty_is_refused(difyd, host):
    """A second `difyd demo` says the demo data exists and how to reset its password."""
    assert (await difyd("demo")).exit_code == 0
    result = await difyd("demo")
    assert result.exit_code == 1
    assert "already exists" in result.output and "set-password" in result.output


class DemoRecorder:
    """A plugin adding its own demo rows: it sees the committed core rows and the seed's ids."""

    def __init__(self) -> None:
        self.seeds: list[dict[str, Any]] = []
        self.visible_apps: list[int] = []

    @hookimpl
    def demo_data(self, ctx: Any, seed: Any) -> Any:
        self.seeds.append(seed)

        async def add_rows() -> None:
            async with ctx.session() as session:
                self.visible_apps.append(
                    (await session.execute(select(func.count()).select_from(App))).scalar_one()
                )
                workspace_id = seed["workspaces"][0]["id"]
                workspace = await services.workspace_by_ref(session, workspace_id)
                await services.create_app(session, workspace.id, "Plugin Demo", "chat")

        return add_rows()


async def test_hook_demo_data(difyd, host, monkeypatch: pytest.MonkeyPatch):
    """After the core demo rows are committed, each plugin's demo_data hook runs (async allowed)."""
    recorder = DemoRecorder()
    build_plugins = core_app.build_plugins

    def with_recorder(settings: Any) -> Any:
        plugins = build_plugins(settings)
        plugins.manager.register(recorder, name="tests.demo_recorder")
        return plugins

    monkeypatch.setattr(core_app, "build_plugins", with_recorder)
    result = await difyd("demo", "--password", "demo-password")
    assert result.exit_code == 0, result.output

    (seed,) = recorder.seeds
    assert seed["account"]["email"] == DEMO_EMAIL
    assert [workspace["name"] for workspace in seed["workspaces"]] == ["Demo Workspace", "Side Project"]
    assert len(seed["apps"]) == recorder.visible_apps[0] == 7
    assert {"id", "name", "mode", "workspace_id", "enable_api"} <= set(seed["apps"][0])
    async with host.session() as session:
        names = set((await session.execute(select(App.name))).scalars())
    assert "Plugin Demo" in names


class StepsProbe:
    @hookimpl
    def next_steps(self, ctx: Any) -> list[str]:
        return [f"probe-cli ping {ctx.settings.public_api_url}"]


def _next_steps(output: str) -> list[str]:
    lines = output.splitlines()
    return [line.strip() for line in lines[lines.index("next:") + 1 :]] if "next:" in lines else []


async def test_hook_next_steps(difyd, host, settings, monkeypatch: pytest.MonkeyPatch):
    """`difyd demo` ends with each enabled plugin's next steps, signing in first."""
    build_plugins = core_app.build_plugins

    def with_probe(settings: Any) -> Any:
        plugins = build_plugins(settings)
        plugins.manager.register(StepsProbe(), name="tests.steps_probe")
        return plugins

    monkeypatch.setattr(core_app, "build_plugins", with_probe)
    result = await difyd("demo", "--password", "demo-password")
    assert result.exit_code == 0, result.output
    url = settings.public_api_url
    steps = _next_steps(result.output)
    assert steps[0] == f"difyctl auth login --host {url} --insecure"  # oauth_device's, first
    assert f"probe-cli ping {url}" in steps
    assert "difyctl describe app <app id>" in steps  # openapi_apps'


async def test_demo_suggests_nothing_without_plugins(difyd, host, settings, tmp_path):
    """The core names no client: with no plugin enabled, the demo prints no next steps."""
    bare = msgspec.structs.replace(settings, plugins=PluginsSettings(enabled=[]))
    config = tmp_path / "bare.toml"
    config.write_text(settings_toml(bare), encoding="utf-8")
    result = await difyd("demo", "--password", "demo-password", config=config)
    assert result.exit_code == 0, result.output
    assert "next:" not in result.output and "difyctl" not in result.output
