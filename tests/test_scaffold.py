"""``difyd plugins new``: the generated package installs, is found through its entry point, passes its
own tests on both backends with difyd's installed fixtures, and is lint-clean."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import cli
from core.scaffold import ScaffoldError, create_plugin
from tests.support.commands import run_checked

PYTHON = sys.executable


@pytest.mark.slow
def test_a_generated_plugin_installs_and_passes_its_own_tests(tmp_path: Path):
    result = CliRunner().invoke(cli, ["plugins", "new", "notes", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "difyd-notes"
    assert f"created {package}" in result.output
    ruff = Path(PYTHON).with_name("ruff")
    run_checked(
        str(ruff),
        "check",
        "--isolated",
        "--select",
        "E,F,W,I,B,UP,ASYNC,RUF",
        "--line-length",
        "110",
        ".",
        cwd=package,
    )
    # Installed as pip installs any package (a wheel, its entry point), into a folder of its own so
    # that this test session's own plugin list does not change.
    site = tmp_path / "site"
    run_checked(
        PYTHON,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(site),
        str(package),
        cwd=tmp_path,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = run_checked(str(Path(PYTHON).with_name("difyd")), "plugins", "list", cwd=tmp_path, env=env)
    assert "notes 0.1.0 (disabled)" in listed
    out = run_checked(PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package, env=env)
    backends = len([b for b in os.environ.get("DIFYD_TEST_BACKENDS", "sqlite,postgres").split(",") if b])
    assert f"{5 * backends} passed" in out, out


def test_a_name_that_is_not_a_plugin_name_or_an_existing_folder_is_refused(tmp_path: Path):
    with pytest.raises(ScaffoldError, match="is not a plugin name"):
        create_plugin("My-Plugin", tmp_path)
    create_plugin("notes", tmp_path)
    with pytest.raises(ScaffoldError, match="already exists"):
        create_plugin("notes", tmp_path)
