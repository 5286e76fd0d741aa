"""Plugins' HTML pages: one Jinja environment for the host, templates and static files found by convention.

A plugin whose package has a ``templates/`` folder beside its plugin module renders them through
``ctx.pages.render("<plugin>/<file>", ...)``; the files of its ``static/`` folder are served at
``/static/<plugin>/<file>``, read once at startup. A template links one with
``{{ static_url("<plugin>", "<file>") }}``, which adds ``?v=<content hash>``: a deploy never serves a
stale file, and a versioned URL is cached for a year. No path is ever joined from the request: a name
not in the table read at startup is a plain 404 that echoes nothing.
"""

from __future__ import annotations

import hashlib
import inspect
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import jinja2
from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Response

from core.http.errors import ApiError
from core.http.responses import error_responses

if TYPE_CHECKING:
    from core.plugins import LoadedPlugins

TEMPLATES = "templates"
STATIC = "static"
STATIC_PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Media types the browser must be told exactly (a script served as text/plain is refused).
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".woff2": "font/woff2"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # a content hash


def plugin_folder(plugin: object) -> Path | None:
    """The folder of the module that defines a plugin (a module, or an object of a plugin class)."""
    module = plugin if inspect.ismodule(plugin) else inspect.getmodule(type(plugin))
    source = getattr(module, "__file__", None)
    return Path(source).resolve().parent if source else None


def _media_type(path: Path) -> str:
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{media_type}; charset=utf-8" if media_type.startswith("text/") else media_type


def _read_assets(folder: Path) -> dict[str, Asset]:
    assets = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            body = path.read_bytes()
            name = path.relative_to(folder).as_posix()
            assets[name] = Asset(body, _media_type(path), hashlib.sha256(body).hexdigest()[:12])
    return assets


class Pages:
    """The host's templates and static files, gathered from the enabled plugins' folders."""

    def __init__(self, plugins: LoadedPlugins) -> None:
        loaders: dict[str, jinja2.BaseLoader] = {}
        self.assets: dict[str, dict[str, Asset]] = {}
        for name, plugin in plugins.manager.list_name_plugin():
            folder = plugin_folder(plugin)
            if folder is None or plugins.manager.is_blocked(name):
                continue
            if (folder / TEMPLATES).is_dir():
                loaders[name] = jinja2.FileSystemLoader(folder / TEMPLATES)
            if (folder / STATIC).is_dir():
                self.assets[name] = _read_assets(folder / STATIC)
        self.environment = jinja2.Environment(
            loader=jinja2.PrefixLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,  # a missing variable is an error, not an empty string
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.globals["static_url"] = self.static_url

    def render(self, template: str, **context: Any) -> str:
        return self.environment.get_template(template).render(**context)

    def static_url(self, plugin: str, name: str) -> str:
        asset = self.assets.get(plugin, {}).get(name)
        if asset is None:
            raise LookupError(f"plugin {plugin!r} has no static file {name!r}")
        return f"{STATIC_PREFIX}/{plugin}/{name}?v={asset.version}"


def _not_found() -> ApiError:
    return ApiError(404, "not found")


@get(
    f"{STATIC_PREFIX}/{{plugin:str}}/{{name:path}}",
    summary="A plugin's static file (script, stylesheet, image)",
    responses={
        **error_responses(404, 422),
        304: ResponseSpec(None, description="Not modified: the If-None-Match ETag is the file's."),
    },
    media_type="application/octet-stream",
)
async def static_file(
    request: Request,
    plugin: FromPath[str],
    name: FromPath[str],
    version: Annotated[str | None, QueryParameter(name="v", max_length=64)] = None,
) -> Response[bytes]:
    pages: Pages = request.app.state.host.pages
    asset = pages.assets.get(plugin, {}).get(name.lstrip("/"))
    if asset is None:
        raise _not_found()
    etag = f'"{asset.version}"'
    # Only the URL of this very content may be kept for good; any other spelling is checked again.
    cache = IMMUTABLE if version == asset.version else "no-cache"
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers, media_type=asset.media_type)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
