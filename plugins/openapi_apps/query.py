"""The query parameters of the app routes, declared once: Litestar validates them (after the guards,
spec §2.14) and /schema documents them from the same declarations.

What a declaration cannot say is checked in the handler, still before membership: the describe
query is strict (an unknown parameter is a 422) and its ``fields`` list names known fields only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from litestar.datastructures import MultiDict
from litestar.params import QueryParameter

from core.domain.models import USER_FACING_MODES
from core.http.errors import ApiError, ErrorDetail, unknown_parameters

LIST_DEFAULT_LIMIT = 20
NAME_MAX_LENGTH = 200
TAG_MAX_LENGTH = 100
MODES = tuple(mode.value for mode in USER_FACING_MODES)
DESCRIBE_FIELDS = ("info", "parameters", "input_schema")
DESCRIBE_PARAMS = frozenset({"fields", "workspace_id"})
FIELD_LIST = ", ".join(DESCRIBE_FIELDS)

# The five user-facing modes; the Literal is what Litestar validates and /schema lists.
Mode = Literal["chat", "completion", "workflow", "advanced-chat", "agent-chat"]
assert set(Mode.__args__) == set(MODES)  # type: ignore[attr-defined]  # one list of modes

WorkspaceId = Annotated[uuid.UUID, QueryParameter(name="workspace_id", description="the workspace to list")]
NameFilter = Annotated[
    str | None,
    QueryParameter(
        name="name",
        max_length=NAME_MAX_LENGTH,
        description="case-insensitive substring of the name, or an app id (then only that app)",
    ),
]
TagFilter = Annotated[
    str | None, QueryParameter(name="tag", max_length=TAG_MAX_LENGTH, description="exact tag name")
]
ModeFilter = Annotated[Mode | None, QueryParameter(name="mode")]
Fields = Annotated[
    str | None,
    QueryParameter(
        name="fields",
        max_length=200,
        description="comma-separated subset of info, parameters, input_schema (default: all three)",
    ),
]
OptionalWorkspaceId = Annotated[
    uuid.UUID | None,
    QueryParameter(name="workspace_id", description="required when the app is named instead of given by id"),
]


def validation_error(details: list[ErrorDetail], message: str | None = None) -> ApiError:
    summary = "; ".join(f"{'.'.join(str(part) for part in d.loc)}: {d.msg}" for d in details)
    return ApiError(422, message or f"Request validation failed: {summary}", details=details)


@dataclass(frozen=True, slots=True)
class AppListQuery:
    workspace_id: uuid.UUID
    page: int
    limit: int
    mode: str | None
    name: str | None
    tag: str | None


@dataclass(frozen=True, slots=True)
class DescribeQuery:
    fields: frozenset[str]
    workspace_id: uuid.UUID | None


def describe_query(params: MultiDict, fields: str | None, workspace_id: uuid.UUID | None) -> DescribeQuery:
    """``GET /apps/{id}/describe``: strict; ``fields`` empty, absent or only separators means all three."""
    strict = unknown_parameters(params.keys(), DESCRIBE_PARAMS)
    if strict is not None:
        raise strict
    requested = [part.strip() for part in (fields or "").split(",") if part.strip()]
    if any(part not in DESCRIBE_FIELDS for part in requested):
        detail = ErrorDetail(
            loc=["fields"], type="value_error", msg=f"fields takes a comma-separated subset of {FIELD_LIST}"
        )
        raise validation_error([detail])
    return DescribeQuery(frozenset(requested or DESCRIBE_FIELDS), workspace_id)
