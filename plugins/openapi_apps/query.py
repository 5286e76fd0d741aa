"""Query-string validation for the app routes, run in the handler after the guards (spec §2.14).

Parsed by hand rather than by Litestar's signature model so that each failure is a 422 ErrorBody with
pydantic-style ``details`` (``{loc, type, msg}``), the describe query can be strict (unknown parameter
-> 422) and a repeated parameter keeps its first value, as the spec asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from litestar.datastructures import MultiDict

from core.domain.models import USER_FACING_MODES
from core.http.errors import ApiError, ErrorDetail
from core.http.pagination import MAX_PAGE_LIMIT

LIST_DEFAULT_LIMIT = 20
NAME_MAX_LENGTH = 200
TAG_MAX_LENGTH = 100
MODES = tuple(mode.value for mode in USER_FACING_MODES)
DESCRIBE_FIELDS = ("info", "parameters", "input_schema")
DESCRIBE_PARAMS = frozenset({"fields", "workspace_id"})


def validation_error(details: list[ErrorDetail], message: str | None = None) -> ApiError:
    summary = "; ".join(f"{'.'.join(str(part) for part in d.loc)}: {d.msg}" for d in details)
    return ApiError(422, message or f"Request validation failed: {summary}", details=details)


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class _Collector:
    """Collects every problem of one query so the client sees them all at once."""

    def __init__(self, params: MultiDict) -> None:
        self.params = params
        self.details: list[ErrorDetail] = []

    def text(self, key: str) -> str | None:
        """The first value of a parameter; ``""`` counts as absent."""
        value = self.params.get(key)
        return value if value else None

    def fail(self, key: str, kind: str, msg: str) -> None:
        self.details.append(ErrorDetail(loc=[key], type=kind, msg=msg))

    def uuid(self, key: str, *, required: bool) -> uuid.UUID | None:
        raw = self.text(key)
        if raw is None:
            if required:
                self.fail(key, "missing", "Field required")
            return None
        parsed = parse_uuid(raw)
        if parsed is None:
            self.fail(key, "uuid_parsing", "Input should be a valid UUID")
        return parsed

    def integer(self, key: str, default: int, low: int, high: int | None = None) -> int:
        raw = self.text(key)
        if raw is None:
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            self.fail(key, "int_parsing", "Input should be a valid integer")
            return default
        if value < low:
            self.fail(key, "greater_than_equal", f"Input should be greater than or equal to {low}")
        elif high is not None and value > high:
            self.fail(key, "less_than_equal", f"Input should be less than or equal to {high}")
        return value

    def choice(self, key: str, choices: Iterable[str]) -> str | None:
        raw = self.text(key)
        options = tuple(choices)
        if raw is not None and raw not in options:
            listed = ", ".join(f"'{option}'" for option in options)
            self.fail(key, "enum", f"Input should be one of {listed}")
        return raw

    def bounded_text(self, key: str, max_length: int) -> str | None:
        raw = self.text(key)
        if raw is not None and len(raw) > max_length:
            self.fail(key, "string_too_long", f"String should have at most {max_length} characters")
        return raw

    def forbid_others(self, allowed: frozenset[str]) -> None:
        for key in dict.fromkeys(self.params.keys()):
            if key not in allowed:
                self.fail(key, "extra_forbidden", "Extra inputs are not permitted")

    def raise_if_any(self) -> None:
        if self.details:
            raise validation_error(self.details)


@dataclass(frozen=True, slots=True)
class AppListQuery:
    workspace_id: uuid.UUID
    page: int
    limit: int
    mode: str | None
    name: str | None
    tag: str | None


def parse_app_list_query(params: MultiDict) -> AppListQuery:
    """``GET /apps``: unknown parameters are ignored, as the CLI-era server did."""
    check = _Collector(params)
    workspace_id = check.uuid("workspace_id", required=True)
    page = check.integer("page", 1, 1)
    limit = check.integer("limit", LIST_DEFAULT_LIMIT, 1, MAX_PAGE_LIMIT)
    mode = check.choice("mode", MODES)
    name = check.bounded_text("name", NAME_MAX_LENGTH)
    tag = check.bounded_text("tag", TAG_MAX_LENGTH)
    check.raise_if_any()
    assert workspace_id is not None  # a missing one was reported above
    return AppListQuery(workspace_id, page, limit, mode, name, tag)


@dataclass(frozen=True, slots=True)
class DescribeQuery:
    fields: frozenset[str]
    workspace_id: uuid.UUID | None


def parse_describe_query(params: MultiDict) -> DescribeQuery:
    """``GET /apps/{id}/describe``: strict; ``fields`` empty, absent or only separators means all three."""
    check = _Collector(params)
    check.forbid_others(DESCRIBE_PARAMS)
    workspace_id = check.uuid("workspace_id", required=False)
    members = [part.strip() for part in (check.text("fields") or "").split(",")]
    requested = [part for part in members if part]
    unknown = sorted({part for part in requested if part not in DESCRIBE_FIELDS})
    if unknown:
        check.fail("fields", "value_error", f"unknown field(s): {unknown}")
    check.raise_if_any()
    return DescribeQuery(frozenset(requested or DESCRIBE_FIELDS), workspace_id)
