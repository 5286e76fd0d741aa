"""The house's import rules, and each plugin's tests standing on the core and that plugin alone.

- the core imports no plugin; a plugin (its code and its tests) imports no other plugin;
- the shared test support (tests/support/) imports no plugin: what a test needs of a plugin comes from
  that plugin's tests, and tests that need several plugins live in tests/integration/;
- each plugin's tests enable that plugin only (``ENABLED_PLUGINS`` of its tests/conftest.py, the
  ``enabled_plugins`` fixture), and pass with every other plugin blocked and unimportable.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.plugins import installed_entry_points

REPO = Path(__file__).resolve().parent.parent
PLUGINS = sorted(path.parent.name for path in (REPO / "plugins").glob("*/__init__.py"))


def python_files(folder: Path) -> Iterator[Path]:
    yield from (path for path in sorted(folder.rglob("*.py")) if "migrations" not in path.parts)


def imported_modules(path: Path, root: Path = REPO) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved against its package."""
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            yield node.lineno, module
            # `from plugins import other` names a plugin package too
            yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def plugins_imported(folder: Path, allowed: str | None = None, root: Path = REPO) -> list[str]:
    """``file:line imports plugins.<name>...`` for each import of a plugin other than ``allowed``."""
    found = []
    for path in python_files(folder):
        for line, module in imported_modules(path, root):
            parts = module.split(".")
            if len(parts) >= 2 and parts[0] == "plugins" and parts[1] in PLUGINS and parts[1] != allowed:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(found))


def test_the_layout_checks_see_the_plugins():
    """The checks below look at real plugins (a wrong path would make them pass vacuously)."""
    assert {"oauth_device", "openapi_apps"} <= set(PLUGINS)
    assert any(imported_modules(REPO / "plugins" / "openapi_apps" / "tests" / "conftest.py"))


def test_the_import_scan_finds_a_plugin_import(tmp_path):
    """Imports of another plugin, absolute, relative or by name, are seen (the scan can fail)."""
    own, other = PLUGINS[0], PLUGINS[1]
    folder = tmp_path / "plugins" / own / "tests"
    folder.mkdir(parents=True)
    (folder / "test_leaky.py").write_text(
        f"import plugins.{other}.plugin\n"
        f"from ...{other} import plugin\n"
        f"from .helpers import anything\n"
        f"importlib.import_module('plugins.{other}')\n"
    )
    where = f"plugins/{own}/tests/test_leaky.py"
    assert plugins_imported(folder, allowed=own, root=tmp_path) == [
        f"{where}:1 imports plugins.{other}.plugin",
        f"{where}:2 imports plugins.{other}",
        f"{where}:2 imports plugins.{other}.plugin",
        f"{where}:4 imports plugins.{other}",
    ]


def test_core_imports_no_plugin():
    """core/ names no plugin in any import."""
    assert plugins_imported(REPO / "core") == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_imports_no_other_plugin(plugin):
    """Nothing under plugins/<plugin>/, its tests included, imports another plugin."""
    assert plugins_imported(REPO / "plugins" / plugin, allowed=plugin) == []


def test_shared_test_support_imports_no_plugin():
    """tests/support/ (fixtures every test folder shares) imports no plugin."""
    assert plugins_imported(REPO / "tests" / "support") == []


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_tests_enable_no_other_plugin(plugin):
    """A plugin's tests enable the plugin itself and no other installed plugin."""
    conftest = importlib.import_module(f"plugins.{plugin}.tests.conftest")
    enabled = set(conftest.ENABLED_PLUGINS)
    assert plugin in enabled
    assert enabled & set(installed_entry_points()) == {plugin}


@pytest.mark.slow
@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_tests_pass_with_every_other_plugin_blocked(plugin, tmp_path):
    """The plugin's tests pass with every other plugin blocked and its package unimportable
    (DIFYD_TEST_BLOCKED; the SQLite backend, browser tests left out)."""
    others = sorted(set(installed_entry_points()) - {plugin})
    env = {
        **os.environ,
        "DIFYD_TEST_BLOCKED": ",".join(others),
        "DIFYD_TEST_BACKENDS": "sqlite",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not browser",
         "--basetemp", str(tmp_path / "pytest"), f"plugins/{plugin}/tests"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    summary = result.stdout.strip().splitlines()[-1:] if result.stdout else []
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary and " passed" in summary[0] and "failed" not in summary[0], summary
