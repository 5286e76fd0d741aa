"""``core.api`` is the plugin API: what docs/plugins.md lists is exactly what it exports, with the
parameters each name really takes; the example and generated plugins use nothing else of the core."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import core.api
from core.scaffold import create_plugin
from tests.test_layout import imported_modules

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "plugins.md"
ROW = re.compile(r"^\| `(?P<name>\w+)` \| `(?P<signature>[^`]*)` \|", re.MULTILINE)


def documented() -> dict[str, str]:
    section = DOC.read_text().split("## The plugin API", 1)[1].split("\n## ", 1)[0]
    return {match["name"]: match["signature"] for match in ROW.finditer(section)}


def test_the_documented_names_are_exactly_the_exported_ones():
    names = documented()
    assert sorted(names) == sorted(core.api.__all__)
    for name in core.api.__all__:
        getattr(core.api, name)  # importable


@pytest.mark.parametrize("name", sorted(core.api.__all__))
def test_each_documented_signature_names_the_real_parameters(name):
    signature = documented()[name]
    shown = re.fullmatch(rf"{name}\((?P<params>.*)\)", signature)
    if shown is None:
        return  # a constant or a type documented by its attributes
    listed = [p.strip() for p in shown["params"].split(",") if p.strip()]
    real = [
        parameter.name
        for parameter in inspect.signature(getattr(core.api, name)).parameters.values()
        if not parameter.name.startswith("__")
    ]
    assert listed == real, f"docs/plugins.md shows {signature}; the real parameters are {real}"


def _core_imports(folder: Path) -> set[str]:
    return {
        module
        for path in folder.rglob("*.py")
        for _, module in imported_modules(path, folder)
        if module == "core" or module.startswith("core.")
    }


def _outside_the_api(modules: set[str]) -> set[str]:
    allowed = ("core.api", "core.testing")
    return {m for m in modules if not any(m == a or m.startswith(a + ".") for a in allowed)}


def test_the_example_plugin_uses_only_the_plugin_api():
    assert _outside_the_api(_core_imports(REPO / "examples" / "hello_plugin")) == set()


def test_a_generated_plugin_uses_only_the_plugin_api(tmp_path):
    package = create_plugin("notes", tmp_path)
    assert _outside_the_api(_core_imports(package)) == set()
