"""Every error is an ErrorBody (never HTML); validation answers 422 invalid_param with details."""

from __future__ import annotations

import pytest

from tests.auth.bearer_probe import running

VALIDATION = "Request validation failed"


@pytest.mark.parametrize(
    ("query", "loc", "kind"),
    [
        ("page=0", ["page"], "greater_than_equal"),
        ("limit=201", ["limit"], "less_than_equal"),
        ("limit=0", ["limit"], "greater_than_equal"),
        ("page=abc", ["page"], "int_parsing"),
        ("limit=1.5", ["limit"], "int_parsing"),
        ("workspace_id=not-a-uuid", ["workspace_id"], "uuid_parsing"),
    ],
)
async def test_query_validation_details(make_settings, query, loc, kind):
    """A bad query parameter answers 422 invalid_param with one {loc, type, msg} detail."""
    async with running(make_settings) as run:
        response = await run.client.get(f"/openapi/v1/probe/list?{query}")
        assert response.status_code == 422
        body = response.json()
        assert (body["code"], body["message"], body["status"]) == ("invalid_param", VALIDATION, 422)
        assert len(body["details"]) == 1
        detail = body["details"][0]
        assert detail["loc"] == loc and detail["type"] == kind and detail["msg"]
        assert set(detail) == {"loc", "type", "msg"}


async def test_missing_required_parameter(make_settings):
    """A missing required query parameter is reported as type missing at its name."""
    async with running(make_settings) as run:
        response = await run.client.get("/openapi/v1/probe/required?secret=dfoa_shhhhhhhhhhhhh")
        assert response.status_code == 422
        body = response.json()
        assert body["details"] == [{"loc": ["name"], "type": "missing", "msg": "Field required"}]
        # The query string is not echoed back.
        assert "dfoa_" not in response.text


async def test_body_validation_details(make_settings):
    """Body errors name the field and the pydantic-style type."""
    async with running(make_settings) as run:
        response = await run.client.post("/console/api/login", json={"email": 5, "password": "x"})
        assert response.status_code == 422
        assert response.json()["details"] == [
            {"loc": ["email"], "type": "string_type", "msg": "Expected `str`, got `int`"}
        ]
        too_long = {"email": "a@b.c", "password": "x" * 2000}
        response = await run.client.post("/console/api/login", json=too_long)
        assert response.json()["details"][0]["type"] == "string_too_long"
        assert response.json()["details"][0]["loc"] == ["password"]


async def test_malformed_json_is_400(make_settings):
    """A body that is not JSON answers 400 bad_request as ErrorBody."""
    async with running(make_settings) as run:
        response = await run.client.post(
            "/console/api/login", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "bad_request" and response.json()["status"] == 400


@pytest.mark.parametrize("path", ["/openapi/v1/no/such/route", "/no/such/route"])
async def test_unknown_route_is_json_404(make_settings, path):
    """Unknown routes answer 404 not_found as JSON, without suggestions."""
    async with running(make_settings) as run:
        response = await run.client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"code": "not_found", "message": "not found", "status": 404}


async def test_wrong_method_is_json_405(make_settings):
    """A known path with another method answers 405 method_not_allowed as JSON, with Allow."""
    async with running(make_settings) as run:
        response = await run.client.delete("/openapi/v1/_health")
        assert response.status_code == 405
        expected = {"code": "method_not_allowed", "message": "method not allowed", "status": 405}
        assert response.json() == expected
        assert "GET" in response.headers["allow"]


async def test_unhandled_exception_is_generic_500(make_settings):
    """An unexpected exception answers 500 internal_server_error without its text."""
    async with running(make_settings) as run:
        response = await run.client.get("/openapi/v1/probe/boom")
        assert response.status_code == 500
        expected = {"code": "internal_server_error", "message": "Internal Server Error", "status": 500}
        assert response.json() == expected
        assert "hunter2" not in response.text and "RuntimeError" not in response.text
        assert not response.text.lstrip().startswith("<")


async def test_list_answers_the_pagination_envelope(make_settings):
    """A list route answers {page, limit, total, has_more, data} with has_more = page*limit < total."""
    async with running(make_settings) as run:
        first = (await run.client.get("/openapi/v1/probe/list?page=2&limit=20")).json()
        assert list(first) == ["page", "limit", "total", "has_more", "data"]
        assert (first["page"], first["limit"], first["total"], first["has_more"]) == (2, 20, 42, True)
        assert first["data"][0] == 21
        last = (await run.client.get("/openapi/v1/probe/list?page=3&limit=20")).json()
        assert last["has_more"] is False and last["data"] == [41, 42]
