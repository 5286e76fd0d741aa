"""The describe ``parameters`` block (spec §6.2): what a client needs to build a run request.

Easy-UI apps (chat, agent-chat, completion) keep their settings in the model config (``App.config``);
workflow and advanced-chat apps keep feature toggles in ``config["features"]`` and the input form in
the start node of ``config["graph"]``. Missing keys get Dify's defaults; an app without any config
gets the five-key fallback.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from core.domain.models import AppMode

EASY_UI_MODES = frozenset({AppMode.CHAT.value, AppMode.AGENT_CHAT.value, AppMode.COMPLETION.value})
WORKFLOW_MODES = frozenset({AppMode.WORKFLOW.value, AppMode.ADVANCED_CHAT.value})

# Key -> the value sent when the config does not say; feature dicts pass through whole when present.
FEATURE_DEFAULTS: dict[str, Any] = {
    "opening_statement": None,
    "suggested_questions": [],
    "suggested_questions_after_answer": {"enabled": False},
    "speech_to_text": {"enabled": False},
    "text_to_speech": {"enabled": False},
    "retriever_resource": {"enabled": False},
    "annotation_reply": {"enabled": False},
    "more_like_this": {"enabled": False},
    "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
    "file_upload": {
        "image": {
            "enabled": False,
            "number_limits": 3,
            "detail": "high",
            "transfer_methods": ["remote_url", "local_file"],
        }
    },
}


def is_configured(mode: str, config: Any) -> bool:
    """Whether the app has the config its mode needs; otherwise describe serves the fallbacks."""
    return (mode in EASY_UI_MODES or mode in WORKFLOW_MODES) and isinstance(config, Mapping)


def fallback_parameters() -> dict[str, Any]:
    return {
        "opening_statement": None,
        "suggested_questions": [],
        "user_input_form": [],
        "file_upload": None,
        "system_parameters": {},
    }


def user_input_form(mode: str, config: Any) -> list[Any]:
    """The form rows: ``[{<control type>: {variable, label, required, ...}}, ...]``."""
    form = configured_form(mode, config)
    return [] if form is None else form


def configured_form(mode: str, config: Any) -> list[Any] | None:
    """The form rows of a configured app; None when the app is not configured (see ``is_configured``)."""
    if not is_configured(mode, config):
        return None
    if mode in WORKFLOW_MODES:
        return _start_node_form(config.get("graph"))
    rows = config.get("user_input_form")
    return list(rows) if isinstance(rows, list) else []


def _start_node_form(graph: Any) -> list[Any]:
    nodes = graph.get("nodes") if isinstance(graph, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, Mapping) else None
        if isinstance(data, Mapping) and data.get("type") == "start":
            variables = data.get("variables")
            return [
                {variable["type"]: variable}
                for variable in (variables if isinstance(variables, list) else [])
                if isinstance(variable, Mapping) and isinstance(variable.get("type"), str)
            ]
    return []


def app_parameters(mode: str, config: Any, system_parameters: Mapping[str, int]) -> dict[str, Any]:
    form = configured_form(mode, config)
    if form is None:
        return fallback_parameters()
    features = config.get("features") if mode in WORKFLOW_MODES else config
    features = features if isinstance(features, Mapping) else {}
    parameters: dict[str, Any] = {}
    for key, default in FEATURE_DEFAULTS.items():
        value = features.get(key)
        parameters[key] = copy.deepcopy(default) if value is None else value
    parameters["user_input_form"] = form
    parameters["system_parameters"] = dict(system_parameters)
    return _in_wire_order(parameters)


# Key order of service-API ``/v1/parameters`` (clients don't depend on it; humans reading do).
_WIRE_ORDER = (
    *list(FEATURE_DEFAULTS)[:8],
    "user_input_form",
    *list(FEATURE_DEFAULTS)[8:],
    "system_parameters",
)


def _in_wire_order(parameters: dict[str, Any]) -> dict[str, Any]:
    return {key: parameters[key] for key in _WIRE_ORDER}
