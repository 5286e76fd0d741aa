"""Prometheus counters plugins can add next to the per-route request metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter

_counters: dict[str, Counter] = {}


def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """Return the process-wide counter ``difyd_<name>_total``, creating it once."""
    if name not in _counters:
        full = f"difyd_{name}"
        existing = REGISTRY._names_to_collectors.get(full)  # re-import in tests
        _counters[name] = existing or Counter(full, documentation, labels)  # type: ignore[assignment]
    return _counters[name]


RATE_LIMIT_REJECTIONS = counter("rate_limit_rejections", "Requests refused by a rate limit", ("bucket",))
LOGINS = counter("console_logins", "Console sign-in attempts", ("outcome",))
