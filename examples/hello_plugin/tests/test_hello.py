"""The example plugin on both backends: its setting, its routes, its guarded route and its job."""

from __future__ import annotations

from core.testing import factories
from core.testing.fixtures import client_for
from core.testing.jobs import wait_for
from core.testing.token_issuer import bearer_for


async def test_the_greeting_is_the_configured_one(make_settings, probe_plugins, client):
    """The default greeting, and another one set in the plugin's section."""
    assert (await client.get("/hello")).json() == {"greeting": "hello"}
    settings = make_settings(**{"plugin.hello.greeting": "bonjour"})
    async with client_for(settings, probe_plugins) as http:
        assert (await http.get("/hello")).json() == {"greeting": "bonjour"}


async def test_the_guarded_route_answers_the_token_it_was_called_with(host, client):
    """Without a token: 401 in the error body shape; with one: the token's id."""
    refused = await client.get("/hello/me")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    alice = await factories.person(host)
    answered = await client.get("/hello/me", headers=await bearer_for(host, alice.id))
    assert answered.status_code == 200 and answered.json()["token_id"]


async def test_the_job_runs_on_the_configured_runner(client):
    """Enqueued by the route, run in-process (sqlite) or by a saq worker (postgres), seen by the route."""
    ticket = (await client.post("/hello/jobs?who=ada")).json()["ticket"]

    async def done() -> bool:
        return (await client.get(f"/hello/jobs/{ticket}")).json() == {"done": True, "who": "ada"}

    await wait_for(done, timeout=10)


async def test_a_first_test_makes_an_account(host):
    await factories.person(host, "ada@example.com")


async def test_the_next_test_starts_with_empty_tables(host):
    """Isolation: the account the previous test made is gone, so its email is free again."""
    again = await factories.person(host, "ada@example.com")
    assert again.email == "ada@example.com"
