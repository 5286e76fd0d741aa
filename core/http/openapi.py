"""The finishing touches /schema needs beyond what Litestar generates from the declarations.

- Security: a route behind ``bearer_guard`` (or the console-session guard) declares its scheme, so a
  client generator knows to send the token. The guards carry a marker; no route repeats it.
- Errors: every operation lists what any route may answer before its handler runs (400, 413, 503;
  401/403/429 behind the bearer guard; 422 when it takes parameters or a body) in the ErrorBody shape,
  instead of Litestar's default 400 body, which this server never sends.
- Stable component names: Litestar names a generic response after the module paths of its arguments
  (``Page_plugins.oauth_device.routes.account.SessionRow_``), which changes whenever a plugin moves a
  class. The module paths are dropped (``Page_SessionRow_``) unless two components would then collide.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.exceptions import ValidationException
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Reference,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

# Set on a guard function: the security scheme a route behind it requires.
SECURITY_MARK = "difyd_security_scheme"
BEARER_SCHEME = "BearerToken"
CONSOLE_SCHEME = "ConsoleSession"

SECURITY_SCHEMES = {
    BEARER_SCHEME: SecurityScheme(
        type="http",
        scheme="bearer",
        description="A token from a login plugin (``Authorization: Bearer dfoa_...``).",
    ),
    CONSOLE_SCHEME: SecurityScheme(
        type="apiKey",
        security_scheme_in="cookie",
        name="access_token",
        description="A console session cookie (``__Host-access_token`` over https); writes also need the "
        "``X-CSRF-Token`` header matching the ``csrf_token`` cookie.",
    ),
}

# A module path inside a generic's key: lower-case dotted names after Litestar's ``_`` for ``[`` or ``,``.
_MODULE_PATH = re.compile(r"(?<=_)(?:[a-z_][a-z0-9_]*\.)+")
_REF_PREFIX = "#/components/schemas/"
ERROR_BODY = "ErrorBody"
LITESTAR_DEFAULT_400 = "Bad request syntax or unsupported method"


def marks_security(guard: Any, *schemes: str) -> Any:
    """Mark ``guard`` so that every route behind it declares ``schemes`` in /schema (several: any one
    of them is enough)."""
    setattr(guard, SECURITY_MARK, schemes)
    return guard


def security_of(guard: Any) -> tuple[str, ...]:
    """The schemes ``guard`` was marked with (none for an unmarked guard)."""
    return tuple(getattr(guard, SECURITY_MARK, ()))


def _error_response(status: int) -> OpenAPIResponse:
    from core.http.responses import DESCRIPTIONS

    return OpenAPIResponse(
        description=DESCRIPTIONS.get(status, "error"),
        content={"application/json": OpenAPIMediaType(schema=Reference(_REF_PREFIX + ERROR_BODY))},
    )


def _answers_validation_with_400(handler: Any) -> bool:
    from core.http.errors import validation_as_bad_request

    return handler.resolve_exception_handlers().get(ValidationException) is validation_as_bad_request


def _document(operation: Operation, handler: Any, schemes: set[str]) -> None:
    """The statuses every route can answer before its handler runs, in the error-body shape: a
    plugin's route is documented right even when it declares none of them."""
    from core.http.responses import ALWAYS, BEARER_GUARDED

    responses = operation.responses if operation.responses is not None else {}
    statuses = set(ALWAYS)
    if BEARER_SCHEME in schemes:
        statuses |= set(BEARER_GUARDED)
    if CONSOLE_SCHEME in schemes:
        statuses.add(401)
    if (operation.parameters or operation.request_body) and not _answers_validation_with_400(handler):
        statuses.add(422)
    default_400 = responses.get("400")
    if isinstance(default_400, OpenAPIResponse) and default_400.description == LITESTAR_DEFAULT_400:
        del responses["400"]  # Litestar's own ValidationException shape, which this server never answers
    for status in sorted(statuses):
        responses.setdefault(str(status), _error_response(status))
    operation.responses = responses


def _finish_operations(app: Litestar, openapi: OpenAPI) -> None:
    used: set[str] = set()
    paths = openapi.paths or {}
    has_error_body = isinstance(openapi.components, Components) and ERROR_BODY in (
        openapi.components.schemas or {}
    )
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in paths:
            continue
        item = paths[route.path_format]
        for handler in route.route_handlers:
            schemes = {scheme for g in handler.resolve_guards() for scheme in security_of(g)}
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if not isinstance(operation, Operation):
                    continue
                if schemes:
                    operation.security = [{scheme: []} for scheme in sorted(schemes)]
                    used |= schemes
                if has_error_body:
                    _document(operation, handler, schemes)
    if used:
        components = openapi.components if isinstance(openapi.components, Components) else Components()
        components.security_schemes = {
            **(components.security_schemes or {}),
            **{name: SECURITY_SCHEMES[name] for name in sorted(used)},
        }
        openapi.components = components


def _renames(names: list[str]) -> dict[str, str]:
    wanted = {name: _MODULE_PATH.sub("", name) for name in names if "." in name}
    taken = [name for name in names if name not in wanted] + list(wanted.values())
    return {old: new for old, new in wanted.items() if taken.count(new) == 1}


def _rewrite_refs(node: Any, renames: dict[str, str], seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Reference):
        target = node.ref.removeprefix(_REF_PREFIX)
        if node.ref.startswith(_REF_PREFIX) and target in renames:
            node.ref = _REF_PREFIX + renames[target]
        return
    if isinstance(node, dict):
        for value in node.values():
            _rewrite_refs(value, renames, seen)
    elif isinstance(node, list | tuple):
        for value in node:
            _rewrite_refs(value, renames, seen)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            _rewrite_refs(getattr(node, field.name), renames, seen)


def _stable_component_names(openapi: OpenAPI) -> None:
    components = openapi.components
    if not isinstance(components, Components) or not components.schemas:
        return
    renames = _renames(list(components.schemas))
    if not renames:
        return
    components.schemas = {renames.get(name, name): schema for name, schema in components.schemas.items()}
    _rewrite_refs(openapi, renames, set())


class _FinishedOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, finishing each schema it builds (lazily, and again after a route is
    registered)."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        openapi = super()._build_openapi()
        _finish_operations(self.app, openapi)
        _stable_component_names(openapi)
        return openapi


def finish_openapi(app: Litestar) -> None:
    """Make the app's OpenAPI plugin the finishing one. Litestar creates its plugin itself and offers no
    post-build hook; the subclass adds no state, so the instance can take its class."""
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _FinishedOpenAPIPlugin
