"""Liveness, readiness and version probes."""

from __future__ import annotations

from core import __version__
from core.app import create_app
from tests.auth.bearer_probe import running, serve
from tests.support.probes import probe_host

CLOSED_REDIS = "redis://127.0.0.1:5129/0"


async def test_openapi_health_and_version(make_settings):
    """/openapi/v1/_health answers {"ok": true}; _version names the server version and edition."""
    async with running(make_settings) as run:
        health = await run.client.get("/openapi/v1/_health")
        assert health.status_code == 200 and health.json() == {"ok": True}
        version = await run.client.get("/openapi/v1/_version")
        assert version.status_code == 200
        assert version.json() == {"version": __version__, "edition": "SELF_HOSTED"}


async def test_healthz_and_readyz(make_settings, backend):
    """Liveness and readiness answer 200 when the database and the state store answer."""
    async with running(make_settings) as run:
        assert (await run.client.get("/healthz")).json() == {"ok": True}
        ready = await run.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["ok"] is True
        assert ready.json()["state_backend"] == ("memory" if backend == "sqlite" else "redis")


async def test_readyz_is_503_when_redis_is_unreachable(make_settings):
    """With the state store on a Redis that does not answer, readiness is 503 and says which part failed."""
    overrides = {"state.backend": "redis", "redis.url": CLOSED_REDIS, "plugins.enabled": []}
    async with probe_host(make_settings, {}, **overrides) as ctx, serve(create_app(ctx=ctx)) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["ok"] is False and body["state"] is False and body["database"] is True
        # Liveness does not depend on Redis.
        assert (await client.get("/healthz")).status_code == 200
