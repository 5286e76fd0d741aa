"""Prometheus metrics: per-route requests and latency, plus counters plugins add."""

from __future__ import annotations

from tests.auth.bearer_probe import bearer, running


async def test_metrics_count_requests_per_route(make_settings):
    """A request shows up in /metrics as a request count and a latency histogram for its route."""
    async with running(make_settings) as run:
        await run.client.get("/openapi/v1/_health")
        response = await run.client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        lines = response.text.splitlines()
        requests = [line for line in lines if line.startswith("difyd_requests_total{")]
        assert any('path="/openapi/v1/_health"' in line and 'method="GET"' in line for line in requests)
        assert any(
            line.startswith("difyd_request_duration_seconds_bucket{") and 'path="/openapi/v1/_health"' in line
            for line in lines
        )


async def test_metrics_label_routes_not_raw_paths(make_settings):
    """Paths with ids are grouped under their route template, so ids never become labels."""
    async with running(make_settings) as run:
        token = run.probe.mint("account")
        await run.client.get("/openapi/v1/probe/workspaces/ws-secret-id-123", headers=bearer(token))
        text = (await run.client.get("/metrics")).text
        assert "ws-secret-id-123" not in text
        assert 'path="/openapi/v1/probe/workspaces/{workspace_id}"' in text


async def test_plugin_counters_appear(make_settings):
    """A counter a plugin created with core.http.metrics.counter() is exported with its labels."""
    async with running(make_settings) as run:
        token = run.probe.mint("account")
        assert (await run.client.get("/openapi/v1/probe/any", headers=bearer(token))).status_code == 200
        text = (await run.client.get("/metrics")).text
        assert "# TYPE difyd_probe_hits_total counter" in text or "# TYPE difyd_probe_hits counter" in text
        assert any(line.startswith('difyd_probe_hits_total{route="any"}') for line in text.splitlines())
