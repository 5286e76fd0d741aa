"""Plugins' pages by convention: a plugin package's templates/ render through the host's one Jinja
environment, its static/ files are served under /static/<plugin>/ by the core."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.support.probes import probe_client, probe_host

PLUGIN = '''
from litestar import Request, get
from litestar.response import Response

from core.hookspecs import hookimpl


@get("/notes-page", media_type="text/html")
async def notes_page(request: Request) -> Response[str]:
    pages = request.app.state.host.pages
    return Response(pages.render("{name}/page.html", title="<Notes>"), media_type="text/html")


@hookimpl
def route_handlers(ctx):
    return [notes_page]
'''


def _package(root: Path, name: str) -> Any:
    """A plugin package on disk: its module, templates/page.html and static/app.js, static/img/dot.svg."""
    package = root / name
    (package / "templates").mkdir(parents=True)
    (package / "static" / "img").mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN.replace("{name}", name)))
    (package / "templates" / "page.html").write_text(
        '<title>{{ title }}</title><script src="{{ static_url("NAME", "app.js") }}"></script>\n'.replace(
            "NAME", name
        )
    )
    (package / "static" / "app.js").write_text("console.log('notes');\n")
    (package / "static" / "img" / "dot.svg").write_text("<svg/>")
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(root))


@pytest.fixture
def notes(tmp_path: Path) -> Any:
    module = _package(tmp_path, "notes_probe")
    yield module
    sys.modules.pop("notes_probe", None)


async def test_templates_and_static_files_by_convention(make_settings, notes):
    """The plugin's template renders (escaped) through the host's environment and links its static
    file by content version; the file, and one in a subfolder, are served with their media types."""
    async with probe_host(make_settings, {"notes_probe": notes}) as ctx, probe_client(ctx) as client:
        html = (await client.get("/notes-page")).text
        assert "<title>&lt;Notes&gt;</title>" in html
        version = ctx.pages.assets["notes_probe"]["app.js"].version
        assert f'src="/static/notes_probe/app.js?v={version}"' in html
        script = await client.get(f"/static/notes_probe/app.js?v={version}")
        assert script.status_code == 200 and script.text == "console.log('notes');\n"
        assert script.headers["content-type"].startswith("text/javascript")
        svg = await client.get("/static/notes_probe/img/dot.svg")
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"


async def test_a_disabled_plugins_files_are_not_served(make_settings, notes):
    """Only enabled plugins' folders are read: an installed but disabled plugin serves nothing."""
    disabled = probe_host(make_settings, {"notes_probe": notes}, **{"plugins.enabled": []})
    async with disabled as ctx, probe_client(ctx) as client:
        assert (await client.get("/static/notes_probe/app.js")).status_code == 404
        assert "notes_probe" not in ctx.pages.assets
