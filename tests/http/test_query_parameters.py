"""Query strings read one way everywhere: a parameter given twice is refused, and names are echoed in
an error only when they look like names."""

from __future__ import annotations

from core.http.errors import unknown_parameters
from tests.auth.bearer_probe import running


async def test_a_parameter_given_twice_is_refused(make_settings):
    """``page=1&page=3`` has no one meaning: 422 invalid_param naming it, before the handler runs."""
    async with running(make_settings) as run:
        response = await run.client.get("/openapi/v1/probe/list?page=1&limit=5&page=3")
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "invalid_param"
        repeated = {"loc": ["query", "page"], "type": "repeated", "msg": "given more than once"}
        assert body["details"] == [repeated]
        single = await run.client.get("/openapi/v1/probe/list?page=2&limit=5")
        assert single.status_code == 200 and single.json()["page"] == 2


async def test_a_parameter_the_route_does_not_read_may_repeat(make_settings):
    """Only declared parameters count: a repeated name the handler never reads (a tracking parameter
    on a link) changes nothing, and the page still answers."""
    async with running(make_settings) as run:
        response = await run.client.get("/openapi/v1/probe/list?utm=a&utm=b&page=2")
        assert response.status_code == 200 and response.json()["page"] == 2


def test_names_that_do_not_look_like_names_are_not_echoed():
    """A parameter name holding a bidi override or a line break is never repeated back."""
    for raw in ("\u202eevil", "a\r\nX-Inj: y"):
        error = unknown_parameters([raw, "page"], ["page"])
        assert error is not None
        [detail] = error.details
        assert detail.loc == ["query", "(a name with characters not shown)"]
        assert "\u202e" not in str(error.body()) and "X-Inj" not in str(error.body())

