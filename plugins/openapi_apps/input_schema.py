"""The describe ``input_schema`` block (spec §6.3): a JSON Schema 2020-12 of a run request's body.

Derived from the ``user_input_form`` rows; rows this server cannot describe (no variable, an unknown
control type, not exactly one key) are left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.domain.models import AppMode

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Conversational modes take a required ``query`` next to ``inputs``.
QUERY_MODES = frozenset({AppMode.CHAT.value, AppMode.AGENT_CHAT.value, AppMode.ADVANCED_CHAT.value})


def empty_schema() -> dict[str, Any]:
    """For an app whose config is missing: describes nothing, accepts any object."""
    return {"$schema": DRAFT, "type": "object", "properties": {}, "required": []}


def _file_object() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "transfer_method": {"type": "string"},
            "url": {"type": "string"},
            "upload_file_id": {"type": "string"},
        },
        "additionalProperties": True,
    }


def _text(body: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    max_length = body.get("max_length")
    # bool is an int in Python; a checkbox-like ``true`` is not a length.
    if isinstance(max_length, int) and not isinstance(max_length, bool) and max_length > 0:
        schema["maxLength"] = max_length
    return schema


def _select(body: Mapping[str, Any]) -> dict[str, Any]:
    options = body.get("options")
    return {"type": "string", "enum": list(options) if isinstance(options, list) else []}


PROPERTY_BUILDERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "text-input": _text,
    "paragraph": _text,
    "select": _select,
    "number": lambda _: {"type": "number"},
    "file": lambda _: _file_object(),
    "file-list": lambda _: {"type": "array", "items": _file_object()},
}


def _property(row: Any) -> tuple[str, dict[str, Any], bool] | None:
    """(variable, property schema, required) for one form row, or None to skip it."""
    if not isinstance(row, Mapping) or len(row) != 1:
        return None
    ((control, body),) = row.items()
    builder = PROPERTY_BUILDERS.get(control)
    if builder is None or not isinstance(body, Mapping):
        return None
    variable = body.get("variable")
    if not isinstance(variable, str) or not variable:
        return None
    schema = builder(body)
    title = body.get("label") or variable
    if isinstance(title, str) and title:
        schema["title"] = title
    return variable, schema, body.get("required") is True


def input_schema(mode: str, form: list[Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for row in form:
        described = _property(row)
        if described is None:
            continue
        variable, schema, is_required = described
        properties[variable] = schema
        if is_required and variable not in required:
            required.append(variable)
    inputs = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    if mode in QUERY_MODES:
        return {
            "$schema": DRAFT,
            "type": "object",
            "properties": {"query": {"type": "string", "minLength": 1}, "inputs": inputs},
            "required": ["query", "inputs"],
        }
    return {"$schema": DRAFT, "type": "object", "properties": {"inputs": inputs}, "required": ["inputs"]}
