"""Every hook is documented and tested (datasette's two meta-tests)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from core import hookspecs

REPO = Path(__file__).resolve().parent.parent
HOOKS_DOC = REPO / "docs" / "hooks.md"
TEST_FOLDERS = [REPO / "tests", *sorted((REPO / "plugins").glob("*/tests"))]


def hookspec_names() -> list[str]:
    return sorted(
        name
        for name, value in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(value, f"{hookspecs.PROJECT}_spec")
    )


def documented_signatures() -> dict[str, str]:
    # A section heading per hook: "## `name(args)`" (args may be empty).
    return dict(re.findall(r"^#{2,3} `(\w+)\(([^)]*)\)`", HOOKS_DOC.read_text(), flags=re.MULTILINE))


def documented_hooks() -> set[str]:
    return set(documented_signatures())


def hooks_with_tests() -> set[str]:
    pattern = re.compile(r"^\s*(?:async\s+)?def test_hook_(\w+)\(", re.MULTILINE)
    found: set[str] = set()
    for folder in TEST_FOLDERS:
        for path in folder.rglob("*.py"):
            found.update(pattern.findall(path.read_text()))
    return found


def test_there_are_hookspecs():
    """The meta-tests below check something (a broken import would make them pass vacuously)."""
    assert len(hookspec_names()) >= 15


@pytest.mark.parametrize("name", hookspec_names())
def test_hookspec_has_a_one_line_docstring(name):
    """Each hookspec says in one line what the core asks."""
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert doc and "\n" not in doc.strip(), f"hookspec {name} needs a one-line docstring"


@pytest.mark.parametrize("name", hookspec_names())
def test_hookspec_is_documented(name):
    """Each hookspec has a section in docs/hooks.md."""
    assert name in documented_hooks(), f"docs/hooks.md lacks a '## `{name}(...)`' section"


@pytest.mark.parametrize("name", hookspec_names())
def test_hookspec_has_a_test(name):
    """Each hookspec is exercised by a test named test_hook_<name> (under tests/ or plugins/*/tests)."""
    assert name in hooks_with_tests(), f"no test named test_hook_{name}"


@pytest.mark.parametrize("name", hookspec_names())
def test_hook_docs_show_the_spec_arguments(name):
    """The heading of each hook's section lists the arguments its spec has now."""
    arguments = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
    assert documented_signatures().get(name) == arguments, f"docs/hooks.md: use '## `{name}({arguments})`'"


def test_documented_hooks_exist():
    """docs/hooks.md documents no hook the core no longer has."""
    assert documented_hooks() <= set(hookspec_names())
