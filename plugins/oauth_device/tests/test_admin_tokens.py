"""``difyd tokens``: what an administrator does when a laptop is stolen, on both backends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

from core.cli import cli
from core.testing import factories
from tests.admin.conftest import settings_toml

from .helpers import device_login


async def _difyd(settings, tmp_path: Path, *args: str):
    config = tmp_path / "difyd.toml"
    config.write_text(settings_toml(settings), encoding="utf-8")
    return await asyncio.to_thread(CliRunner().invoke, cli, ["--config", str(config), *args])


async def test_an_accounts_tokens_are_listed_and_revoked_by_an_administrator(
    settings, host, client, tmp_path
):
    alice = await factories.person(host)
    await factories.workspace(host, "Acme", (alice, "owner"))
    laptop = await device_login(client, alice, label="difyctl on laptop")
    desktop = await device_login(client, alice, label="difyctl on desktop")
    for login in (laptop, desktop):
        assert (
            await client.get("/openapi/v1/account", headers={"Authorization": f"Bearer {login['token']}"})
        ).status_code == 200

    listed = await _difyd(settings, tmp_path, "tokens", "list", "--email", alice.email, "--json")
    assert listed.exit_code == 0, listed.output
    assert {t["device_label"] for t in json.loads(listed.output)} == {
        "difyctl on laptop",
        "difyctl on desktop",
    }

    one = await _difyd(
        settings, tmp_path, "tokens", "revoke", "--email", alice.email, "--id", laptop["token_id"]
    )
    assert (one.exit_code, one.output) == (0, f"revoked 1 token(s) of <{alice.email}>\n")
    everything = await _difyd(settings, tmp_path, "tokens", "revoke", "--email", alice.email, "--all")
    assert (everything.exit_code, everything.output) == (0, f"revoked 1 token(s) of <{alice.email}>\n")

    if settings.state.backend == "redis":  # the server's cache is the one the command told
        for login in (laptop, desktop):
            refused = await client.get(
                "/openapi/v1/account", headers={"Authorization": f"Bearer {login['token']}"}
            )
            assert refused.status_code == 401
    again = await _difyd(
        settings, tmp_path, "tokens", "revoke", "--email", alice.email, "--id", laptop["token_id"]
    )
    assert again.exit_code == 1 and "has no live token" in again.output
    neither = await _difyd(settings, tmp_path, "tokens", "revoke", "--email", alice.email)
    assert neither.exit_code == 2
