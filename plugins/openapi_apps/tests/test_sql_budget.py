"""Each request costs a fixed number of SQL statements, and the list query walks the plugin's index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, text

LIST_INDEX = "ix_apps_openapi_listable"
COUNT_INDEX = "ix_apps_openapi_listable_count"


@contextmanager
def captured_sql(host: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every statement this app sends, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    engine = host.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_list_costs_two_statements_with_a_warm_token(client, host, world, alice):
    """A list page is one count and one page query; tags, creators and workspace come with the page."""
    params = {"workspace_id": str(world.acme.id), "limit": 3}
    assert (await client.get("/openapi/v1/apps", params=params, headers=alice)).status_code == 200
    with captured_sql(host) as statements:
        response = await client.get("/openapi/v1/apps", params={**params, "tag": "prod"}, headers=alice)
    assert response.status_code == 200
    assert len(response.json()["data"]) == 3
    assert len(statements) == 2, [s for s, _ in statements]


async def test_describe_costs_one_statement(client, host, world, alice):
    """Describe by id or by name, all three blocks, is a single SQL statement."""
    await client.get("/openapi/v1/workspaces", headers=alice)  # warm the token cache
    fields = {"fields": "info,parameters,input_schema", "workspace_id": str(world.acme.id)}
    for ref in (world.id("Greeter"), "Greeter"):
        with captured_sql(host) as statements:
            response = await client.get(f"/openapi/v1/apps/{ref}/describe", params=fields, headers=alice)
        assert response.status_code == 200
        assert len(statements) == 1, [s for s, _ in statements]


async def test_workspaces_cost_one_statement(client, host, world, alice):
    """The workspace list is one statement."""
    await client.get("/openapi/v1/workspaces", headers=alice)
    with captured_sql(host) as statements:
        assert (await client.get("/openapi/v1/workspaces", headers=alice)).status_code == 200
    assert len(statements) == 1


async def test_list_page_and_count_use_the_partial_indexes(client, host, world, alice):
    """The planner can use the partial indexes for both list statements: the count its own narrow one,
    the page the (tenant_id, created_at DESC, id DESC) one."""
    await client.get("/openapi/v1/workspaces", headers=alice)
    with captured_sql(host) as statements:
        await client.get("/openapi/v1/apps", params={"workspace_id": str(world.acme.id)}, headers=alice)
    assert len(statements) == 2
    async with host.engine.connect() as conn:
        for statement, parameters in statements:
            if conn.dialect.name == "postgresql":  # tiny tables: make the planner show what it can use
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                rows = await conn.exec_driver_sql("EXPLAIN " + statement, tuple(parameters))
            else:
                rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(parameters))
            plan = "\n".join(str(row) for row in rows.all())
            expected = COUNT_INDEX if statement.lstrip().upper().startswith("SELECT COUNT") else LIST_INDEX
            assert re.search(rf"\b{expected}\b", plan), plan  # the whole name: one is a prefix of the other
