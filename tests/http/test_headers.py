"""Anti-framing headers on every /openapi/v1 response, and CORS from OPENAPI_CORS_ALLOW_ORIGINS."""

from __future__ import annotations

import pytest

from tests.auth.bearer_probe import running

ALLOWED = "https://app.example"
CORS = {"http.cors_allow_origins": [ALLOWED, "https://other.example/"]}


def assert_unframeable(response) -> None:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


def cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/openapi/v1/_health", 200),
        ("GET", "/openapi/v1/probe/any", 401),
        ("GET", "/openapi/v1/probe/list?page=0", 422),
        ("GET", "/openapi/v1/no/such/route", 404),
        ("DELETE", "/openapi/v1/_health", 405),
        ("GET", "/openapi/v1/probe/boom", 500),
    ],
)
async def test_openapi_responses_cannot_be_framed(make_settings, method, path, status):
    """Success and error responses under /openapi/v1 alike carry X-Frame-Options and CSP frame-ancestors."""
    async with running(make_settings) as run:
        response = await run.client.request(method, path)
        assert response.status_code == status
        assert_unframeable(response)


async def test_allowed_origin_is_echoed_with_credentials(make_settings):
    """An allowed origin is echoed (never *), with credentials, Vary: Origin and the exposed headers."""
    async with running(make_settings, **CORS) as run:
        response = await run.client.get("/openapi/v1/_health", headers={"Origin": ALLOWED})
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in response.headers["vary"]
        exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
        assert exposed == {"X-Version", "X-Env", "X-Trace-Id"}
        # A configured origin with a trailing slash matches the browser's form without it.
        other = await run.client.get("/openapi/v1/_health", headers={"Origin": "https://other.example"})
        assert other.headers["access-control-allow-origin"] == "https://other.example"
        # Errors carry CORS too, so the browser can read them.
        error = await run.client.get("/openapi/v1/probe/any", headers={"Origin": ALLOWED})
        assert error.status_code == 401 and error.headers["access-control-allow-origin"] == ALLOWED


async def test_disallowed_origin_gets_no_cors_headers(make_settings):
    """An origin outside the list gets the response but no Access-Control-Allow-Origin."""
    async with running(make_settings, **CORS) as run:
        response = await run.client.get("/openapi/v1/_health", headers={"Origin": "https://evil.example"})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers


async def test_preflight_for_allowed_origin(make_settings):
    """A preflight gets the methods, the requested allowed headers only, and max-age 600."""
    async with running(make_settings, **CORS) as run:
        response = await run.client.options(
            "/openapi/v1/probe/any",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization, X-CSRF-Token, X-Custom",
            },
        )
        assert response.status_code in (200, 204)
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert response.headers["access-control-allow-credentials"] == "true"
        methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
        assert methods == {"GET", "POST", "PATCH", "DELETE", "OPTIONS"}
        granted = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
        assert granted == {"authorization", "x-csrf-token"}
        assert response.headers["access-control-max-age"] == "600"
        assert_unframeable(response)


async def test_preflight_for_disallowed_origin(make_settings):
    """A preflight from an origin outside the list is answered without Access-Control-Allow-Origin."""
    async with running(make_settings, **CORS) as run:
        response = await run.client.options(
            "/openapi/v1/probe/any",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert response.status_code in (200, 204)
        assert "access-control-allow-origin" not in response.headers


async def test_empty_allow_list_sends_no_cors_headers(make_settings):
    """With the default empty list no Access-Control-* header is ever sent."""
    async with running(make_settings) as run:
        simple = await run.client.get("/openapi/v1/_health", headers={"Origin": ALLOWED})
        preflight = await run.client.options(
            "/openapi/v1/_health", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
        )
        assert cors_headers(simple) == {} and cors_headers(preflight) == {}


async def test_cors_applies_only_under_openapi(make_settings):
    """Routes outside /openapi/v1 (probes, console) get no CORS headers from this allow-list."""
    async with running(make_settings, **CORS) as run:
        response = await run.client.get("/healthz", headers={"Origin": ALLOWED})
        assert cors_headers(response) == {}


async def test_hook_header_policies(make_settings):
    """A plugin's policies apply to the paths it names (whole segments), errors included; the most
    specific prefix wins a header both set; a header the handler set itself is kept."""
    from core.hookspecs import hookimpl
    from core.http.headers import HeaderPolicy
    from tests.support.probes import probe_host

    class Policies:
        @hookimpl
        def header_policies(self, ctx):
            return [
                HeaderPolicy("/openapi/v1/probe", {"Cache-Control": "no-store", "X-Probe": "outer"}),
                HeaderPolicy("/openapi/v1/probe/any", {"X-Probe": "inner"}),
                HeaderPolicy("/healthz", {"Content-Disposition": "inline", "Cache-Control": "max-age=5"}),
            ]

    from core.app import create_app
    from core.testing.fixtures import serve
    from tests.auth.bearer_probe import BearerProbe

    plugins = {"bearer_probe": BearerProbe(), "policies": Policies()}
    async with probe_host(make_settings, plugins) as ctx, serve(create_app(ctx=ctx)) as client:
        inner = await client.get("/openapi/v1/probe/any")  # 401: errors get the policy too
        assert inner.status_code == 401
        assert inner.headers["x-probe"] == "inner" and inner.headers["cache-control"] == "no-store"
        assert_unframeable(inner)  # the core's own /openapi/v1 policy still applies
        outer = await client.get("/openapi/v1/probe/nothing-here")
        assert outer.status_code == 404 and outer.headers["x-probe"] == "outer"
        health = await client.get("/healthz")
        assert health.headers["content-disposition"] == "inline"
        assert "x-frame-options" not in health.headers  # no policy frames it: nobody asked
        beside = await client.get("/healthzz")
        assert "content-disposition" not in beside.headers  # /healthz is not a prefix of /healthzz
