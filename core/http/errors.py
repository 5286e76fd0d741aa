"""ErrorBody for every error, never an HTML page; RFC 8628 endpoints use ``{"error": code}`` instead."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from core.http.outages import dependency_of, is_outage

log = structlog.get_logger("difyd.http")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    422: "invalid_param",
    429: "too_many_requests",
    431: "request_header_fields_too_large",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="api"'}


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    loc: list[str | int]
    type: str
    msg: str


class ErrorBody(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    status: int
    hint: str | None = None
    details: Any = None


class ApiError(Exception):
    """An error a client can act on: status, code, a sentence, optionally a hint and details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        hint: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "unknown")
        self.message = message
        self.hint = hint
        self.details = details
        self.headers = dict(headers or {})
        if status == 401:
            self.headers.update(WWW_AUTHENTICATE)

    def body(self) -> ErrorBody:
        return ErrorBody(self.code, self.message, self.status, self.hint, self.details)


class OAuthError(Exception):
    """RFC 8628-style error: body ``{"error": "<code>"}`` (device code/token/lookup/approve/deny)."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}


def too_many_requests(retry_after: float, message: str = "rate_limited") -> ApiError:
    seconds = max(int(retry_after + 0.999), 1)
    return ApiError(
        429,
        message,
        details={"retry_after_ms": max(int(retry_after * 1000), 1)},
        headers={"Retry-After": str(seconds)},
    )


def error_response(error: ApiError) -> Response[Any]:
    return Response(content=error.body(), status_code=error.status, headers=error.headers)


def _api_error_handler(_: Request, exc: ApiError) -> Response[Any]:
    return error_response(exc)


def oauth_error_response(exc: OAuthError) -> Response[Any]:
    """The ``{"error": code}`` response, for routes that answer an OAuthError without raising it."""
    return Response(content={"error": exc.error}, status_code=exc.status, headers=exc.headers)


def _oauth_error_handler(_: Request, exc: OAuthError) -> Response[Any]:
    return oauth_error_response(exc)


# msgspec's messages, as Litestar passes them on, mapped to the pydantic-style ``type`` clients know.
_BOUND = re.compile(r"^Expected `[^`]+`(?P<length> of length)? (?P<op>>=|<=|>|<) ")
_EXPECTED = re.compile(r"^Expected `(?P<types>[^`]+)`")
_NAMED_FIELD = re.compile(r"(?:missing required|contains unknown) field `(?P<field>[^`]+)`", re.IGNORECASE)
_MISSING_PARAMETER = re.compile(r"^Missing required (?P<source>\w+) parameter '(?P<name>[^']+)'")
_LOC_PART = re.compile(r"[^.\[\]]+")
_BOUND_TYPES = {">=": "greater_than_equal", "<=": "less_than_equal", ">": "greater_than", "<": "less_than"}
_LENGTH_TYPES = {">=": "too_short", ">": "too_short", "<=": "too_long", "<": "too_long"}
_TYPE_ERRORS = (
    ("int", "int_parsing"),
    ("float", "float_parsing"),
    ("bool", "bool_parsing"),
    ("str", "string_type"),
    ("object", "dict_type"),
    ("array", "list_type"),
)
_PREFIX_TYPES = (
    ("invalid uuid", "uuid_parsing"),
    ("invalid enum value", "enum"),
    ("invalid rfc3339 encoded datetime", "datetime_parsing"),
    ("invalid rfc3339 encoded date", "date_parsing"),
    ("object missing required field", "missing"),
    ("object contains unknown field", "extra_forbidden"),
)


def _classify(message: str) -> str:
    """The pydantic-style error type for one msgspec/Litestar validation message."""
    lowered = message.lower()
    bound = _BOUND.match(message)
    if bound:
        op = bound.group("op")
        if not bound.group("length"):
            return _BOUND_TYPES[op]
        on_string = message.startswith("Expected `str`")
        return ("string_" if on_string else "") + _LENGTH_TYPES[op]
    if "matching regex" in lowered:
        return "string_pattern_mismatch"
    for prefix, kind in _PREFIX_TYPES:
        if lowered.startswith(prefix):
            return kind
    expected = _EXPECTED.match(message)
    if expected:
        names = {name.strip() for name in expected.group("types").split("|")}
        for name, kind in _TYPE_ERRORS:
            if name in names:
                return kind
    return "value_error"


# msgspec quotes the offending value in some messages ("Invalid enum value '<script>'"): an error
# names what was wrong, it never repeats the input.
_QUOTED_INPUT = re.compile(r"^(Invalid enum value) '.*'$", re.DOTALL)
# A long pattern quoted back is noise to a reader: name where it is written instead.
_LONG_PATTERN = re.compile(r"matching regex '.{80,}'", re.DOTALL)


def _without_input(message: str) -> str:
    message = _LONG_PATTERN.sub("matching the field's pattern (see its description in /schema)", message)
    return _QUOTED_INPUT.sub(r"\1", message)


def _location(key: Any, message: str) -> list[str | int]:
    """``items[0].name`` -> ``["items", 0, "name"]``; a missing body field names the field itself."""
    loc: list[str | int] = []
    if key and key != "data":
        for part in _LOC_PART.findall(str(key)):
            loc.append(int(part) if part.isdigit() else part)
    named = _NAMED_FIELD.search(message)
    if named:
        loc.append(named.group("field"))
    return loc


def _validation_details(exc: ValidationException) -> list[ErrorDetail]:
    if isinstance(exc, RepeatedParameters):
        return exc.details
    details: list[ErrorDetail] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = _without_input(str(item.get("message", "invalid value")))
        if item.get("key") == "data" and message == "'data'":
            # Litestar's words for a request that has no body at all.
            details.append(ErrorDetail(loc=["body"], type="missing", msg="a JSON request body is required"))
            continue
        loc = _location(item.get("key"), message)
        details.append(ErrorDetail(loc=loc, type=_classify(message), msg=message))
    if not details:
        # Litestar reports a missing parameter in the text alone; its detail also echoes the
        # query string, so only the parameter's name is passed on.
        missing = _MISSING_PARAMETER.match(str(exc.detail))
        if missing:
            details.append(ErrorDetail(loc=[missing.group("name")], type="missing", msg="Field required"))
        else:
            details.append(ErrorDetail(loc=[], type="value_error", msg="invalid request"))
    return details


def _validation_handler(_: Request, exc: ValidationException) -> Response[Any]:
    message = exc.detail if isinstance(exc, RepeatedParameters) else "Request validation failed"
    error = ApiError(422, message, details=_validation_details(exc))
    return error_response(error)


# How many unknown parameters a 422 names, and how much of each name: enough to fix a typo, never a
# way to make the server repeat a request back at length.
MAX_NAMED_UNKNOWN = 5
MAX_NAME_ECHO = 64


# Names are echoed only when they look like names: a bidi override or a line break in a parameter name
# would otherwise travel into a client's logs or terminal.
_PRINTABLE_NAME = re.compile(r"^[A-Za-z0-9_.\[\]-]+$")


def _echoable(name: str) -> str:
    name = name[:MAX_NAME_ECHO]
    return name if _PRINTABLE_NAME.match(name) else "(a name with characters not shown)"


def _named(names: list[str], kind: str, msg: str) -> list[ErrorDetail]:
    return [ErrorDetail(loc=["query", _echoable(n)], type=kind, msg=msg) for n in names[:MAX_NAMED_UNKNOWN]]


class RepeatedParameters(ValidationException):
    """Query parameters given more than once to a route that takes one value of each. A validation
    failure like any other, so a route that answers those with 400 answers this with 400 too."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(f"{len(names)} query parameter(s) given more than once; each takes one value")
        self.details = _named(names, "repeated", "given more than once")


def unknown_parameters(params: Iterable[str], allowed: Iterable[str]) -> ApiError | None:
    """422 for query parameters a strict route does not take, or None when there are none."""
    known = set(allowed)
    unknown = [name for name in dict.fromkeys(params) if name not in known]
    if not unknown:
        return None
    details = _named(unknown, "extra_forbidden", "unknown parameter")
    accepted = ", ".join(sorted(known))
    return ApiError(
        422,
        f"{len(unknown)} unknown query parameter(s); this route takes only: {accepted}",
        code="invalid_param",
        details=details,
    )


def validation_as_bad_request(_: Request, exc: ValidationException) -> Response[Any]:
    """For routes whose contract answers a missing or mistyped field with 400 ``bad_request`` rather
    than 422 (a route opts in with ``exception_handlers``): the same details, the older status."""
    details = _validation_details(exc)
    named = ", ".join(".".join(str(part) for part in d.loc) for d in details if d.loc)
    message = f"invalid or missing field(s): {named}" if named else "invalid request body"
    return error_response(ApiError(400, message, code="bad_request", details=details))


_ROUTING_MESSAGES = {404: "not found", 405: "method not allowed"}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _http_exception_handler(_: Request, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        message = "Internal Server Error"
    else:
        # Litestar fills ``detail`` with the reason phrase when nobody gave one; a handler's own
        # detail (``NotFoundException("app not found")``) is the message the client should read.
        phrase = _phrase(status)
        given = exc.detail if exc.detail and exc.detail != phrase else ""
        message = given or _ROUTING_MESSAGES.get(status) or phrase or STATUS_CODES.get(status, "error")
    error = ApiError(status, message, headers=dict(exc.headers or {}))
    return error_response(error)


RETRY_AFTER_SECONDS = 2
UNAVAILABLE_MESSAGE = "a service this server depends on is unavailable; try again shortly"


def service_unavailable() -> ApiError:
    return ApiError(503, UNAVAILABLE_MESSAGE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _internal_error_handler(request: Request, exc: Exception) -> Response[Any]:
    if is_outage(exc):
        # Expected while a dependency is down: one line, no traceback (it would repeat per request).
        log.warning(
            "dependency_unavailable",
            dependency=dependency_of(exc),
            error_type=type(exc).__name__,
            path=request.url.path,
        )
        return error_response(service_unavailable())
    # Never leak exception text; the log line carries the type and the route for whoever is on call.
    log.error("unhandled_exception", path=request.url.path, error_type=type(exc).__name__, exc_info=exc)
    return error_response(ApiError(HTTP_500_INTERNAL_SERVER_ERROR, "Internal Server Error"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error_handler,
    OAuthError: _oauth_error_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_exception_handler,
    Exception: _internal_error_handler,
}
