"""``difyd plugins new NAME``: a plugin package to start from, with everything a plugin may have.

The templates (``template/``) use ``string.Template`` placeholders (``$name``, ``$package``, ``$dist``,
``$NAME``, ``$core_version``); a path segment ``__package__`` or ``__name__`` is replaced as well, and
``__tests_dir__`` becomes ``tests`` (a folder called tests inside difyd's own package would be left out
of its wheel, as the plugins' tests are).
What they generate is tested: tests/test_scaffold.py generates a package, installs it and runs its
tests on both backends.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from core import __version__ as CORE_VERSION

TEMPLATE = Path(__file__).resolve().parent / "template"
SUFFIX = ".tmpl"
NAME_SHAPE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


class ScaffoldError(ValueError):
    pass


def placeholders(name: str) -> dict[str, str]:
    return {
        "name": name,
        "NAME": name.upper(),
        "package": f"difyd_{name}",
        "dist": f"difyd-{name.replace('_', '-')}",
        "core_version": ".".join(CORE_VERSION.split(".")[:2]),
    }


def create_plugin(name: str, parent: Path) -> Path:
    """Write the package for plugin ``name`` into ``parent/<dist>``; refuse to overwrite anything."""
    if not NAME_SHAPE.match(name):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: 2-31 lower-case letters, digits or underscores, a letter first"
        )
    values = placeholders(name)
    root = parent / values["dist"]
    if root.exists():
        raise ScaffoldError(f"{root} already exists; choose another name or folder")
    for source in sorted(TEMPLATE.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE).as_posix().removesuffix(SUFFIX)
        relative = relative.replace("__package__", values["package"]).replace("__name__", name)
        relative = relative.replace("__tests_dir__", "tests")
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(source.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return root
