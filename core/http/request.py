"""The request class of every route: request bodies and query strings read the house's way.

- A JSON body nested deeper than the decoder can follow answers 400, not a RecursionError.
- A body with a NUL character in a string (``\\u0000``) answers 400: no database can store it, and
  PostgreSQL would fail the statement instead.
- A route that opts in with ``accepts_form()`` reads a form-encoded body (RFC 6749/7009/8628 clients
  send forms) into the same declared Struct as JSON; ``json_only()`` makes a route refuse anything
  but ``application/json`` with 415 (a cross-site form cannot send JSON without a CORS preflight).
- A query parameter the handler declares with one value, given twice, is refused (422
  ``invalid_param``): ``mode=chat&mode=workflow`` has no one meaning, and keeping either value
  silently would answer a question the client did not ask. Lists keep every value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import CookieParameter, HeaderParameter, PathParameter
from litestar.types import Empty

from core.http.errors import ApiError, RepeatedParameters

FORM_BODIES = "difyd.form_bodies"
JSON_ONLY = "difyd.json_only"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# ``\u0000`` as a JSON escape: preceded by an even number of backslashes (an odd one escapes the ``\``).
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class FormOrJsonOperation(Operation):
    """Documents a route's declared body under both media types it accepts."""

    def __post_init__(self) -> None:
        body = self.request_body
        if isinstance(body, RequestBody) and JSON in body.content:
            body.content.setdefault(FORM, body.content[JSON])


def accepts_form() -> dict[str, Any]:
    """Route-decorator arguments: the declared body may come as JSON or as a form."""
    return {"opt": {FORM_BODIES: True}, "operation_class": FormOrJsonOperation}


def json_only() -> dict[str, Any]:
    """Route-decorator arguments: the body must be ``application/json`` (415 otherwise)."""
    return {"opt": {JSON_ONLY: True}}


def bad_body(message: str) -> ApiError:
    return ApiError(400, message, code="bad_request")


def check_json_text(raw: bytes) -> None:
    """Refuse what no storage can hold before anything decodes it."""
    if b"\x00" in raw or (b"\\u0000" in raw and _NUL_ESCAPE.search(raw)):
        raise bad_body("the request body contains a NUL character")


# Signature names Litestar fills from the connection itself, never from the query string.
_RESERVED = frozenset({"request", "socket", "scope", "state", "headers", "cookies", "query", "body", "data"})
_SCALAR_QUERY_NAMES: dict[int, frozenset[str]] = {}
NOT_QUERY = (HeaderParameter, CookieParameter, PathParameter)


def _scalar_query_names(handler: Any, path_params: Iterable[str]) -> frozenset[str]:
    """The query parameters a handler declares with one value each (a list keeps every value)."""
    names = _SCALAR_QUERY_NAMES.get(id(handler))
    if names is None:
        skipped = _RESERVED | set(path_params) | set(handler.resolve_dependencies())
        found = set()
        for name, field in handler.parsed_fn_signature.parameters.items():
            kwarg = field.kwarg_definition
            if name in skipped or field.is_non_string_sequence:
                continue
            if isinstance(kwarg, NOT_QUERY) or any(getattr(kwarg, a, None) for a in ("header", "cookie")):
                continue
            found.add(getattr(kwarg, "query", None) or getattr(kwarg, "name", None) or name)
        names = _SCALAR_QUERY_NAMES[id(handler)] = frozenset(found)
    return names


async def refuse_repeated_parameters(request: Request) -> None:
    """``before_request``: after the guards (a rate limit counts the request), before the handler's
    parameters are read. Only the parameters the handler declares count: a name it never reads
    (a tracking parameter on a page link) has no meaning to be ambiguous about."""
    if b"&" not in request.scope.get("query_string", b""):
        return  # one parameter at most: nothing can repeat (the common case costs no parsing)
    names = [key for key, _ in request.query_params.multi_items()]
    if len(set(names)) == len(names):
        return
    handler = request.scope.get("route_handler")
    if handler is None:
        return
    declared = _scalar_query_names(handler, request.scope.get("path_params", {}))
    repeated = [name for name in dict.fromkeys(names) if names.count(name) > 1 and name in declared]
    if repeated:
        raise RepeatedParameters(repeated)


class DifydRequest(Request):
    __slots__ = ()

    def _opted(self, flag: str) -> bool:
        handler = self.scope.get("route_handler")
        return bool(handler is not None and handler.opt.get(flag))

    async def json(self) -> Any:
        if self._json is not Empty:
            return self._json
        media_type = self.content_type[0]
        if self._opted(JSON_ONLY) and media_type != JSON:
            raise ApiError(415, "the request body must be application/json", code="unsupported_media_type")
        if media_type == FORM and self._opted(FORM_BODIES):
            form = await self.form()
            self._json = {key: values[-1] for key, values in form.dict().items()}
            for value in self._json.values():
                if isinstance(value, str) and "\x00" in value:
                    raise bad_body("the request body contains a NUL character")
            return self._json
        check_json_text(await self.body())
        try:
            return await super().json()
        except RecursionError:
            raise bad_body("the request body is nested too deeply") from None
