"""JSON Schemas of what difyctl 0.1.0-rc.1 accepts (spec openapi_apps §7, the CLI's zod schemas).

A body that fails one of these makes the real CLI fail to parse a 200 (or an error). Unknown extra
keys are allowed everywhere, as zod objects are not strict.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

STRING_OR_NULL = {"type": ["string", "null"]}
TAG = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}

APP_LIST_ROW = {
    "type": "object",
    "required": ["id", "name", "mode"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "mode": {"type": "string"},
        "description": {"type": "string"},  # absent is fine, null is not
        "workspace_id": {"type": "string"},
        "tags": {"type": "array", "items": TAG},
        "updated_at": STRING_OR_NULL,
        "created_by_name": STRING_OR_NULL,
        "workspace_name": STRING_OR_NULL,
    },
}

APP_LIST = {
    "type": "object",
    "properties": {
        "page": {"type": "integer"},
        "limit": {"type": "integer"},
        "total": {"type": "integer"},
        "has_more": {"type": "boolean"},
        "data": {"type": "array", "items": APP_LIST_ROW},
    },
}

DESCRIBE_INFO = {
    "type": "object",
    "required": ["id", "name", "mode"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "mode": {"type": "string"},
        "description": {"type": "string"},
        "author": {"type": "string"},
        "tags": {"type": "array", "items": TAG},
        "updated_at": STRING_OR_NULL,
        "service_api_enabled": {"type": "boolean"},
        "is_agent": {"type": "boolean"},
    },
}

DESCRIBE = {
    "type": "object",
    "required": ["info"],  # the key must be there, object or null
    "properties": {"info": {"anyOf": [{"type": "null"}, DESCRIBE_INFO]}},
}

WORKSPACE_ROW = {
    "type": "object",
    "required": ["id", "name", "role"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string"},
        "status": {"type": "string"},
        "current": {"type": "boolean"},
    },
}

WORKSPACES = {
    "type": "object",
    "properties": {"workspaces": {"type": "array", "items": WORKSPACE_ROW}},
}

# Not a CLI schema but the project's contract (spec README): every error is an ErrorBody.
ERROR_BODY = {
    "type": "object",
    "required": ["code", "message", "status"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string", "minLength": 1},
        "message": {"type": "string", "minLength": 1},
        "status": {"type": "integer"},
        "hint": {"type": "string"},
        "details": {},
    },
}


def assert_valid(schema: dict[str, Any], body: Any) -> Any:
    """Fail with every violation listed; return the body for chaining."""
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    return body


def assert_error(response: Any, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    """An ErrorBody with this status and code (and message, if given)."""
    assert response.status_code == status, response.text
    body = assert_valid(ERROR_BODY, response.json())
    assert body["status"] == status and body["code"] == code, body
    if message is not None:
        assert body["message"] == message, body
    return body
