"""ErrorBody for every error, never an HTML page; RFC 8628 endpoints use ``{"error": code}`` instead."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = structlog.get_logger("difyd.http")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    422: "invalid_param",
    429: "too_many_requests",
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


def _oauth_error_handler(_: Request, exc: OAuthError) -> Response[Any]:
    return Response(content={"error": exc.error}, status_code=exc.status, headers=exc.headers)


def _validation_details(extra: Any) -> list[ErrorDetail]:
    details: list[ErrorDetail] = []
    for item in extra or []:
        if not isinstance(item, dict):
            details.append(ErrorDetail(loc=[], type="value_error", msg=str(item)))
            continue
        key = item.get("key")
        loc: list[str | int] = [key] if key else []
        message = str(item.get("message", "invalid value"))
        details.append(ErrorDetail(loc=loc, type=_classify(message), msg=message))
    return details


def _classify(message: str) -> str:
    lowered = message.lower()
    if "expected `int`" in lowered or "expected int" in lowered:
        return "int_parsing"
    if ">=" in lowered:
        return "greater_than_equal"
    if "<=" in lowered:
        return "less_than_equal"
    if "missing required" in lowered:
        return "missing"
    if "extra" in lowered or "unknown" in lowered:
        return "extra_forbidden"
    return "value_error"


def _validation_handler(_: Request, exc: ValidationException) -> Response[Any]:
    error = ApiError(422, "Request validation failed", details=_validation_details(exc.extra))
    return error_response(error)


def _http_exception_handler(_: Request, exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        message = "Internal Server Error"
    elif status == 404:
        message = "not found"
    elif status == 405:
        message = "method not allowed"
    elif isinstance(exc, NotAuthorizedException):
        message = exc.detail or "unauthorized"
    else:
        message = exc.detail or STATUS_CODES.get(status, "error")
    error = ApiError(status, message, headers=dict(exc.headers or {}))
    return error_response(error)


def _internal_error_handler(request: Request, exc: Exception) -> Response[Any]:
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
