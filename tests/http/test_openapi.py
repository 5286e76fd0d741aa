"""/schema for a plugin's routes: security schemes, every pre-handler error in the ErrorBody shape, and
component names that do not change when a plugin moves a class."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import get

from core.hookspecs import hookimpl
from core.http.pagination import Page
from tests.auth.bearer_probe import running
from tests.support.probes import probe_client, probe_host

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


async def _schema(make_settings) -> dict:
    async with running(make_settings) as run:
        response = await run.client.get("/schema/openapi.json")
        assert response.status_code == 200
        return response.json()


def _error_schema(operation: dict, status: str) -> dict:
    return operation["responses"][status]["content"]["application/json"]["schema"]


async def test_a_bearer_guarded_route_declares_the_scheme_and_its_refusals(make_settings):
    """The probe's routes declare no responses at all: the bearer guard alone documents the scheme and
    the 401/403/429 it answers, in the ErrorBody shape."""
    schema = await _schema(make_settings)
    operation = schema["paths"]["/openapi/v1/probe/any"]["get"]
    assert operation["security"] == [{"BearerToken": []}]
    assert schema["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from a login plugin (``Authorization: Bearer dfoa_...``).",
    }
    for status in ("400", "401", "403", "413", "429", "503"):
        assert _error_schema(operation, status) == ERROR_BODY, status
    assert "422" not in operation["responses"]  # it takes no parameters


async def test_a_route_with_parameters_documents_422_and_never_litestars_own_400(make_settings):
    schema = await _schema(make_settings)
    operation = schema["paths"]["/openapi/v1/probe/list"]["get"]
    assert "security" not in operation
    assert _error_schema(operation, "422") == ERROR_BODY
    assert _error_schema(operation, "400") == ERROR_BODY
    assert "Validation Exception" not in str(schema)


class Row(msgspec.Struct):
    name: str


@get("/rows", sync_to_thread=False)
def rows() -> Page[Row]:
    return Page.of([Row("a")], page=1, limit=20, total=1)


class RowsPlugin:
    @hookimpl
    def route_handlers(self, ctx: Any) -> list[Any]:
        return [rows]


async def test_generic_components_are_named_without_module_paths(make_settings):
    """``Page[Row]`` is ``Page_Row_``: Litestar's ``Page_tests.http.test_openapi.Row_`` would change
    whenever a plugin moved a class."""
    async with probe_host(make_settings, {"rows": RowsPlugin()}) as ctx, probe_client(ctx) as client:
        schema = (await client.get("/schema/openapi.json")).json()
    names = list(schema["components"]["schemas"])
    assert not [name for name in names if "." in name], names
    assert "Page_Row_" in names
    ok = schema["paths"]["/rows"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Page_Row_"}
