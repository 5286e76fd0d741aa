"""``difyd plugins list``: what is installed, what runs, which hooks, which settings."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from core.cli import cli
from core.testing.fixtures import SECRET
from tests.support.probes import install_plugin_package, write_config


def _config(tmp_path: Path, plugins: str) -> Path:
    return write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
        [plugins]
        {plugins}
    """)


def _invoke(tmp_path: Path, plugins: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(_config(tmp_path, plugins)), "plugins", "list", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _sections(output: str) -> dict[str, list[str]]:
    """Group the human output by plugin: first line, then its indented lines."""
    sections: dict[str, list[str]] = {}
    name = ""
    for line in output.splitlines():
        if not line.startswith(" "):
            name = line.split()[0]
        sections.setdefault(name, []).append(line)
    return sections


def test_plugins_list_shows_name_version_state_hooks_and_settings(tmp_path):
    """Each installed plugin is listed with its version, enabled or not, its hooks and settings schema."""
    sections = _sections(_invoke(tmp_path, 'enabled = ["openapi_apps", "hello"]'))
    assert {"oauth_device", "openapi_apps", "hello"} <= set(sections)
    hello = sections["hello"]
    assert hello[0] == "hello 1.2.0 (enabled) [difyd_hello.plugin]"
    assert hello[1] == "  hooks: jobs, plugin_settings, requires_core, route_handlers"
    schema = json.loads(hello[2].removeprefix("  settings: "))
    greeting = schema["$defs"]["HelloSettings"]["properties"]["greeting"]
    assert greeting == {"type": "string", "default": "hello"}
    assert "(disabled)" in sections["oauth_device"][0]


def test_plugins_list_json_and_blocked_plugins(tmp_path):
    """--json prints the same facts as data; a blocked plugin shows as blocked, without being imported."""
    output = _invoke(tmp_path, 'enabled = ["oauth_device", "hello"]\nblocked = ["hello"]', "--json")
    infos = {info["name"]: info for info in json.loads(output)}
    assert infos["hello"]["enabled"] is False
    assert infos["hello"]["version"] == "1.2.0"
    assert infos["hello"]["error"] == "blocked"
    assert infos["hello"]["hooks"] == [] and infos["hello"]["settings_schema"] is None
    assert infos["oauth_device"]["enabled"] is True
    assert "plugin_settings" in infos["oauth_device"]["hooks"]


def test_plugins_list_reports_a_bad_configuration(tmp_path):
    """An unknown plugin name in the configuration is an error message naming it, not a traceback."""
    result = CliRunner().invoke(
        cli, ["--config", str(_config(tmp_path, 'enabled = ["nope"]')), "plugins", "list"]
    )
    assert result.exit_code == 1
    assert "unknown plugin(s) 'nope'" in result.output


def test_plugins_list_shows_a_broken_disabled_plugin_with_its_error(tmp_path, monkeypatch):
    """An installed plugin that fails to import is listed with the error instead of breaking the list."""
    root = install_plugin_package(tmp_path / "site", "broken", "import no_such_dependency\n", version="0.4.0")
    monkeypatch.syspath_prepend(str(root))
    sections = _sections(_invoke(tmp_path, 'enabled = ["openapi_apps"]'))
    broken = sections["broken"]
    assert broken[0] == "broken 0.4.0 (disabled) [probe_broken_plugin]"
    assert "No module named 'no_such_dependency'" in broken[-1] and broken[-1].startswith("  error: ")
    assert "(enabled)" in sections["openapi_apps"][0]


BROKEN_COMMANDS = """
    from core.hookspecs import hookimpl

    @hookimpl
    def cli_commands():
        raise RuntimeError("commands need a dependency that is missing")
"""


def test_a_plugin_whose_commands_fail_is_named_and_the_others_still_run(tmp_path, monkeypatch):
    """One plugin failing to list its commands warns with its name; built-in commands keep working."""
    monkeypatch.syspath_prepend(str(install_plugin_package(tmp_path / "site", "clumsy", BROKEN_COMMANDS)))
    config = _config(tmp_path, 'enabled = ["openapi_apps", "clumsy"]')
    result = CliRunner().invoke(cli, ["--config", str(config), "--help"])
    assert result.exit_code == 0, result.output
    warning = "plugin 'clumsy' failed in its cli_commands hook: RuntimeError: commands need a dependency"
    assert warning in result.output
    assert "Run the HTTP server." in result.output
