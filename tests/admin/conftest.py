"""Run the ``difyd`` command line against the test database of the current backend."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from click.testing import CliRunner, Result

from core.admin import admin_commands
from core.cli import cli
from core.settings import Settings


def _toml_value(value: Any) -> str:
    # JSON strings, numbers, booleans and arrays are valid TOML; tables are written inline.
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def settings_toml(settings: Settings) -> str:
    tree = msgspec.to_builtins(settings)
    return "".join(f"{json.dumps(key)} = {_toml_value(value)}\n" for key, value in tree.items())


def admin_cli() -> click.Group:
    for command in admin_commands():
        cli.add_command(command)
    return cli


Invoke = Callable[..., Awaitable[Result]]


@pytest.fixture
def config_file(settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "difyd.toml"
    path.write_text(settings_toml(settings), encoding="utf-8")
    return path


@pytest.fixture
def difyd(config_file: Path, host: Any) -> Invoke:
    """``await difyd("accounts", "create", ...)``: the CLI in a thread (it runs its own event loop).

    Depends on ``host`` so that the tables are emptied after the test.
    """

    async def invoke(*args: str, input: str | None = None, config: Path | None = None) -> Result:
        runner = CliRunner()
        argv = ["--config", str(config or config_file), *args]
        result = await asyncio.to_thread(runner.invoke, admin_cli(), argv, input=input)
        # A refusal is an exit status with a message; an exception escaping is a traceback for the user.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(
                f"difyd {' '.join(args)} raised {result.exception!r}\n{result.output}"
            ) from result.exception
        return result

    return invoke
