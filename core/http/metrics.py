"""Prometheus metrics: per-route requests and latency (Litestar's middleware) plus counters plugins add."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

from core.http.responses import error_responses

_counters: dict[str, Counter] = {}


def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """Return the process-wide counter ``difyd_<name>_total``, creating it once."""
    if name not in _counters:
        full = f"difyd_{name}"
        existing = REGISTRY._names_to_collectors.get(full)  # re-import in tests
        _counters[name] = existing or Counter(full, documentation, labels)  # type: ignore[assignment]
    return _counters[name]


def prometheus_config() -> PrometheusConfig:
    """Requests and latency labelled by route template (``group_path``), not by raw path: ids stay out."""
    return PrometheusConfig(app_name="difyd", group_path=True, prefix="difyd", exclude=["/metrics"])


class MetricsController(Controller):
    path = "/metrics"
    tags = ["health"]

    @get(
        summary="Prometheus metrics: requests and latency per route, and the plugins' counters",
        media_type=MediaType.TEXT,
        responses=error_responses(),
    )
    async def metrics(self) -> Response[bytes]:
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


RATE_LIMIT_REJECTIONS = counter("rate_limit_rejections", "Requests refused by a rate limit", ("bucket",))
LOGINS = counter("console_logins", "Console sign-in attempts", ("outcome",))
TOKENS_REJECTED = counter(
    "tokens_rejected",
    "Bearer tokens that did not authenticate (audited once per reason, IP and minute)",
    ("reason",),
)
