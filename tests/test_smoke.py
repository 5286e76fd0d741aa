"""The server starts on each backend and answers its probes."""


async def test_healthz_answers(client):
    """Liveness answers 200 with a JSON body."""
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_readyz_checks_database_and_state(client, backend):
    """Readiness reports the database and the state backend reachable."""
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] is True and body["state"] is True
    assert body["state_backend"] == ("memory" if backend == "sqlite" else "redis")
