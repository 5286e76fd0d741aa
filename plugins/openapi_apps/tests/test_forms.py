"""The ``parameters`` and ``input_schema`` derivations on their own (spec §6.2, §6.3): pure functions."""

from __future__ import annotations

import msgspec
from jsonschema import Draft202012Validator

from core.plugins import plugin_env_aliases
from core.settings import apply_environment
from plugins.openapi_apps.input_schema import input_schema
from plugins.openapi_apps.parameters import app_parameters, user_input_form
from plugins.openapi_apps.settings import OpenApiAppsSettings

FORM = [
    {"text-input": {"variable": "name", "label": "Your name", "required": True, "max_length": 48,
                    "default": ""}},
    {"paragraph": {"variable": "context", "label": "Context", "required": False, "max_length": 4000}},
    {"select": {"variable": "tier", "label": "Tier", "required": True, "options": ["free", "pro"]}},
    {"number": {"variable": "count", "label": "", "required": False}},
    {"file": {"variable": "doc", "label": "Doc", "required": True, "allowed_file_types": ["document"]}},
    {"file-list": {"variable": "attachments", "label": "Attachments", "required": False, "max_length": 5}},
]
SKIPPED = [
    {"checkbox": {"variable": "agree", "label": "Agree"}},  # unknown control type
    {"text-input": {"label": "no variable"}},
    {"text-input": {"variable": "a"}, "paragraph": {"variable": "b"}},  # not exactly one key
    "not a row",
    {"text-input": {"variable": "flag", "max_length": True}},  # a bool is not a length
]


def test_every_control_type_becomes_a_property():
    """Each row type maps as §6.3's table says; required follows form order."""
    schema = input_schema("workflow", FORM)
    Draft202012Validator.check_schema(schema)
    inputs = schema["properties"]["inputs"]
    assert inputs["required"] == ["name", "tier", "doc"]
    props = inputs["properties"]
    assert props["name"] == {"type": "string", "maxLength": 48, "title": "Your name"}
    assert props["context"] == {"type": "string", "maxLength": 4000, "title": "Context"}
    assert props["tier"] == {"type": "string", "enum": ["free", "pro"], "title": "Tier"}
    assert props["count"] == {"type": "number", "title": "count"}  # label empty: the variable is the title
    assert props["doc"]["type"] == "object" and props["doc"]["additionalProperties"] is True
    assert props["attachments"]["type"] == "array" and "title" not in props["attachments"]["items"]
    assert "maxLength" not in props["attachments"]


def test_rows_that_cannot_be_described_are_skipped():
    """Unknown types, rows without a variable and malformed rows add nothing; a bool length is ignored."""
    inputs = input_schema("completion", SKIPPED)["properties"]["inputs"]
    assert inputs["properties"] == {"flag": {"type": "string", "title": "flag"}}


def test_a_value_matching_the_schema_validates_and_others_do_not():
    """The derived schema accepts a well-formed run body and refuses a missing query or extra input."""
    validator = Draft202012Validator(input_schema("chat", FORM))
    good = {"query": "hi", "inputs": {"name": "Ann", "tier": "pro", "doc": {"type": "document"}}}
    assert validator.is_valid(good)
    assert not validator.is_valid({"inputs": good["inputs"]})
    assert not validator.is_valid({**good, "inputs": {**good["inputs"], "surprise": 1}})
    assert not validator.is_valid({**good, "inputs": {**good["inputs"], "tier": "gold"}})


def test_feature_dicts_pass_through_whole():
    """A configured toggle keeps its extra keys (voice, language ...)."""
    tts = {"enabled": True, "voice": "alloy", "language": "en-US", "autoPlay": "enabled"}
    parameters = app_parameters("chat", {"text_to_speech": tts, "model": {"x": 1}}, {})
    assert parameters["text_to_speech"] == tts
    assert "model" not in parameters  # only the parameter keys, never the model config itself


def test_workflow_without_graph_or_start_node_has_an_empty_form():
    """A workflow config without a graph, or without a start node, has no form rows."""
    assert user_input_form("workflow", {"features": {}}) == []
    assert user_input_form("advanced-chat", {"graph": {"nodes": [{"data": {"type": "llm"}}]}}) == []


def test_dify_environment_names_set_the_upload_limits():
    """UPLOAD_IMAGE_FILE_SIZE_LIMIT and friends reach [plugin.openapi_apps]."""
    env = {"UPLOAD_IMAGE_FILE_SIZE_LIMIT": "30", "WORKFLOW_FILE_UPLOAD_LIMIT": "4"}
    tree = apply_environment({}, env, plugin_env_aliases())
    settings = msgspec.convert(tree["plugin"]["openapi_apps"], OpenApiAppsSettings, strict=False)
    assert settings.system_parameters()["image_file_size_limit"] == 30
    assert settings.system_parameters()["workflow_file_upload_limit"] == 4
