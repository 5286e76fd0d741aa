"""``GET /openapi/v1/apps/{id}/describe`` (and ``/apps/{id}``): blocks, lookups, and refusals."""

from __future__ import annotations

import datetime

from jsonschema import Draft202012Validator
from sqlalchemy import update

from core.domain.models import App
from core.testing import factories
from plugins.openapi_apps.tests.conftest import server_with, token_headers
from plugins.openapi_apps.tests.wire_schemas import DESCRIBE, assert_error, assert_valid
from plugins.openapi_apps.tests.world import GREETER_CONFIG, WORKFLOW_CONFIG, random_uuid

ALL = "info,parameters,input_schema"

# Spec openapi_apps §6.4, verbatim; "A1" is replaced by the app's id.
FIXTURE_6_4 = {
    "info": {"id": "A1", "name": "Greeter", "description": "A simple greeting bot", "mode": "chat",
             "author": "Test Tester", "tags": [{"name": "demo"}], "updated_at": "2026-01-02T00:00:00",
             "service_api_enabled": True, "is_agent": False},
    "parameters": {"opening_statement": "Hi, I am Greeter.", "suggested_questions": ["What is your name?"],
        "suggested_questions_after_answer": {"enabled": False}, "speech_to_text": {"enabled": False},
        "text_to_speech": {"enabled": False}, "retriever_resource": {"enabled": False},
        "annotation_reply": {"enabled": False}, "more_like_this": {"enabled": False},
        "user_input_form": [{"text-input": {"variable": "name", "label": "Your name", "required": True,
                                            "max_length": 48}}],
        "sensitive_word_avoidance": {"enabled": False, "type": "", "configs": []},
        "file_upload": {"image": {"enabled": False, "number_limits": 3, "detail": "high",
                                  "transfer_methods": ["remote_url", "local_file"]}},
        "system_parameters": {"image_file_size_limit": 10, "video_file_size_limit": 100,
                              "audio_file_size_limit": 50, "file_size_limit": 15,
                              "workflow_file_upload_limit": 10}},
    "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
        "properties": {"query": {"type": "string", "minLength": 1},
                       "inputs": {"type": "object",
                                  "properties": {"name": {"type": "string", "title": "Your name",
                                                          "maxLength": 48}},
                                  "required": ["name"], "additionalProperties": False}},
        "required": ["query", "inputs"]},
}


async def describe(client, headers, ref, path="/describe", **params):
    response = await client.get(f"/openapi/v1/apps/{ref}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = assert_valid(DESCRIBE, response.json())
    if body["input_schema"] is not None:
        Draft202012Validator.check_schema(body["input_schema"])  # it is itself a valid JSON Schema
    return body


async def test_spec_fixture_6_4_reproduced_exactly(client, host):
    """A chat app "Greeter" configured like §6.4 describes to exactly the §6.4 body."""
    tester = await factories.person(host, "tester@example.com", "Test Tester")
    w1 = await factories.workspace(host, "W1", (tester, "owner"))
    a1 = await factories.app(host, w1, "Greeter", "chat", description="A simple greeting bot",
                             created_by=tester.account.id, config=GREETER_CONFIG, tags=["demo"])
    async with host.session() as session:
        await session.execute(update(App).where(App.id == a1.id).values(
            updated_at=datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)))
    sent = await token_headers(client, tester)
    body = await describe(client, sent, a1.id, workspace_id=str(w1.id), fields=ALL)
    expected = {**FIXTURE_6_4, "info": {**FIXTURE_6_4["info"], "id": str(a1.id)}}
    assert body == expected


async def test_new_upstream_path_serves_the_same_body(client, world, alice):
    """``/apps/{id}`` answers what ``/apps/{id}/describe`` answers."""
    ref = world.id("Nightly Report")
    assert await describe(client, alice, ref, path="") == await describe(client, alice, ref)


async def test_fields_select_the_blocks(client, world, alice):
    """Unrequested blocks are null; absent, empty or separator-only ``fields`` means all three."""
    ref = world.id("Greeter")
    info_only = await describe(client, alice, ref, fields="info")
    assert info_only["info"]["name"] == "Greeter"
    assert info_only["parameters"] is None and info_only["input_schema"] is None
    spaced = await describe(client, alice, ref, fields=" input_schema , parameters ,")
    assert spaced["info"] is None and spaced["parameters"] and spaced["input_schema"]
    full = await describe(client, alice, ref, fields=ALL)
    for same in ({}, {"fields": ""}, {"fields": ","}, {"fields": " , "}):
        assert await describe(client, alice, ref, **same) == full


async def test_unknown_field_or_parameter_is_422(client, world, alice):
    """The describe query is strict: an unknown field or parameter is 422 invalid_param."""
    ref = world.id("Greeter")
    response = await client.get(f"/openapi/v1/apps/{ref}/describe?fields=info,icons", headers=alice)
    body = assert_error(response, 422, "invalid_param")
    assert body["details"] == [{
        "loc": ["fields"],
        "type": "value_error",
        "msg": "fields takes a comma-separated subset of info, parameters, input_schema",
    }]
    response = await client.get(f"/openapi/v1/apps/{ref}/describe?fields=info&page=1", headers=alice)
    assert assert_error(response, 422, "invalid_param")["details"][0]["type"] == "extra_forbidden"
    response = await client.get(f"/openapi/v1/apps/{ref}?workspace_id=nope", headers=alice)
    assert assert_error(response, 422, "invalid_param")["details"][0]["type"] == "uuid_parsing"


async def test_workflow_app_parameters_come_from_features_and_the_start_node(client, world, alice):
    """Workflow: toggles from ``features``, the form from the start node's variables, no ``query``."""
    body = await describe(client, alice, world.id("Nightly Report"))
    parameters = body["parameters"]
    assert parameters["file_upload"] == WORKFLOW_CONFIG["features"]["file_upload"]
    assert parameters["opening_statement"] is None and parameters["speech_to_text"] == {"enabled": False}
    variables = WORKFLOW_CONFIG["graph"]["nodes"][0]["data"]["variables"]
    assert parameters["user_input_form"] == [{v["type"]: v} for v in variables]
    schema = body["input_schema"]
    assert schema["required"] == ["inputs"] and "query" not in schema["properties"]
    inputs = schema["properties"]["inputs"]
    assert inputs["required"] == ["topic"]
    assert inputs["properties"]["tone"] == {"type": "string", "enum": ["dry", "warm"], "title": "Tone"}
    assert inputs["properties"]["doc"]["type"] == "object"
    assert body["info"]["is_agent"] is False


async def test_misconfigured_app_still_describes(client, world, alice):
    """An advanced-chat app with no workflow gets the fallback parameters and the empty schema."""
    body = await describe(client, alice, world.id("Flow Chat"))
    assert body["parameters"] == {"opening_statement": None, "suggested_questions": [], "user_input_form": [],
                                  "file_upload": None, "system_parameters": {}}
    assert body["input_schema"] == {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                    "type": "object", "properties": {}, "required": []}
    assert body["info"]["is_agent"] is True  # advanced-chat streams, like agent-chat


async def test_modes_shape_info_and_schema(client, world, alice):
    """agent-chat is an agent; completion takes no query; an unknown creator is author ""."""
    agent = await describe(client, alice, world.id("Agent Smith"))
    assert agent["info"]["is_agent"] is True and agent["input_schema"]["required"] == ["query", "inputs"]
    writer = await describe(client, alice, world.id("Writer"))
    assert writer["info"]["is_agent"] is False and writer["input_schema"]["required"] == ["inputs"]
    orphan = await describe(client, alice, world.id("100%_done"), fields="info")
    assert orphan["info"]["author"] == "" and orphan["info"]["tags"] == [{"name": "prod"}]


async def test_lookup_by_name_within_a_workspace(client, world, alice):
    """A non-UUID id is an exact app name in ``workspace_id``; the body equals the by-id one."""
    ws = str(world.acme.id)
    by_name = await describe(client, alice, "Greeter", workspace_id=ws)
    assert by_name == await describe(client, alice, world.id("Greeter"), workspace_id=ws)
    response = await client.get("/openapi/v1/apps/greeter/describe", params={"workspace_id": ws},
                                headers=alice)
    assert_error(response, 404, "not_found", "app not found")  # exact, case-sensitive
    shared = await describe(client, alice, "Shared App", workspace_id=str(world.shared.id), fields="info")
    assert shared["info"]["author"] == "Bob Brown"


async def test_lookup_by_name_needs_workspace_id(client, world, alice):
    """Without workspace_id a name cannot be resolved: 422 saying so."""
    response = await client.get("/openapi/v1/apps/Greeter/describe", headers=alice)
    body = assert_error(response, 422, "invalid_param", "workspace_id is required for name-based lookup")
    assert body["details"][0]["loc"] == ["workspace_id"]


async def test_ambiguous_name_is_409_listing_candidates(client, world, alice):
    """Two apps named Twin: 409 with an ID/MODE/NAME table of both."""
    response = await client.get("/openapi/v1/apps/Twin/describe", params={"workspace_id": str(world.acme.id)},
                                headers=alice)
    body = assert_error(response, 409, "conflict")
    assert "app name 'Twin' is ambiguous" in body["message"] and "re-run with a UUID" in body["message"]
    header = body["message"].splitlines()[1].split()
    assert header == ["ID", "MODE", "NAME"]
    for key, mode in (("Twin#chat", "chat"), ("Twin#workflow", "workflow")):
        assert world.id(key) in body["message"]
        assert {"id": world.id(key), "mode": mode, "name": "Twin"} in body["details"]


async def test_api_disabled_is_403_for_members(client, world, alice):
    """A member asking for an app with the API off gets 403 service_api_disabled, by id and by name."""
    response = await client.get(f"/openapi/v1/apps/{world.id('Hidden API')}/describe", headers=alice)
    assert_error(response, 403, "service_api_disabled")
    response = await client.get("/openapi/v1/apps/Hidden%20API/describe",
                                params={"workspace_id": str(world.acme.id)}, headers=alice)
    assert_error(response, 403, "service_api_disabled")
    # The way out exists on this server (not a "Dify console" it does not have).
    hint = "An administrator can switch it on: difyd apps update --app <app id> --enable-api"
    assert response.json()["hint"] == hint


async def test_unknown_or_archived_app_is_404(client, world, alice):
    """An unknown id or an archived app is 404 app not found."""
    for ref in (random_uuid(), world.id("Old Stuff")):
        response = await client.get(f"/openapi/v1/apps/{ref}/describe", headers=alice)
        assert_error(response, 404, "not_found", "app not found")


async def test_workspace_id_of_another_workspace_is_ignored_for_ids(client, world, alice):
    """With a UUID id, a workspace_id that differs from the app's is ignored (CLI-era behaviour)."""
    other = str(world.shared.id)
    body = await describe(client, alice, world.id("Greeter"), workspace_id=other, fields="info")
    assert body["info"]["name"] == "Greeter"


async def test_system_parameters_follow_settings(make_settings, probe_plugins, host, world):
    """The upload limits in ``system_parameters`` are the plugin's settings."""
    overrides = {"plugin.openapi_apps.image_file_size_limit": 25, "plugin.openapi_apps.file_size_limit": 99}
    async with server_with(make_settings, probe_plugins, **overrides) as http:
        sent = await token_headers(http, world.alice)
        body = await describe(http, sent, world.id("Greeter"), fields="parameters")
    assert body["parameters"]["system_parameters"] == {
        "image_file_size_limit": 25, "video_file_size_limit": 100, "audio_file_size_limit": 50,
        "file_size_limit": 99, "workflow_file_upload_limit": 10}
