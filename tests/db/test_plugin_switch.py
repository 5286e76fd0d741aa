"""Switching a plugin off (disabled, blocked, uninstalled) never bricks the migrations of the others,
and switching it back on continues its branch where it stopped; on both backends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.app import build_plugins
from core.db.migrate import upgrade_all
from core.settings import validate_tree
from core.testing.fixtures import settings_tree


async def _upgrade(
    backend: str, url: str, tmp_path: Path, enabled: list[str], blocked: tuple[str, ...] = ()
) -> None:
    plugins = {"plugins.enabled": enabled, "plugins.blocked": list(blocked)}
    tree = settings_tree(backend, url, tmp_path, **plugins)
    settings = validate_tree(tree)
    await asyncio.to_thread(upgrade_all, settings, build_plugins(settings))


async def _state(url: str) -> tuple[set[str], set[str]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        versions = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
        tables = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    await engine.dispose()
    return versions, tables


async def test_disabling_blocking_and_enabling_again(backend, empty_database_url, tmp_path):
    await _upgrade(backend, empty_database_url, tmp_path, ["oauth_device", "openapi_apps"])
    versions, tables = await _state(empty_database_url)
    assert "oauth_access_tokens" in tables
    device_head = {v for v in versions if v.startswith("oauth_device_")}
    assert device_head

    # Disabled, then blocked: the others still upgrade (it was "Can't locate revision" before), and the
    # switched-off plugin's revision and tables stay as they were.
    await _upgrade(backend, empty_database_url, tmp_path, ["openapi_apps"])
    both = ["openapi_apps", "oauth_device"]
    await _upgrade(backend, empty_database_url, tmp_path, both, blocked=("oauth_device",))
    versions, tables = await _state(empty_database_url)
    assert device_head <= versions and "oauth_access_tokens" in tables

    # Enabled again: its branch continues from its own revision, nothing is created twice.
    await _upgrade(backend, empty_database_url, tmp_path, ["oauth_device", "openapi_apps"])
    assert (await _state(empty_database_url))[0] == versions


async def test_a_plugin_installed_later_gets_its_branch_on_the_next_upgrade(
    backend, empty_database_url, tmp_path
):
    await _upgrade(backend, empty_database_url, tmp_path, ["openapi_apps"])
    assert "oauth_access_tokens" not in (await _state(empty_database_url))[1]
    await _upgrade(backend, empty_database_url, tmp_path, ["openapi_apps", "oauth_device"])
    versions, tables = await _state(empty_database_url)
    assert "oauth_access_tokens" in tables and any(v.startswith("oauth_device_") for v in versions)
