"""system_features / license_status: what GET /console/api/system-features tells the console."""

from __future__ import annotations

from typing import Any

from core.hookspecs import hookimpl
from tests.support.probes import probe_client, probe_host

FEATURES = "/console/api/system-features"


class FeaturesProbe:
    @hookimpl
    def system_features(self, ctx: Any) -> dict[str, Any]:
        # A new key, and a nested dict merged into the core's own (other keys of it survive).
        return {"probe_button": True, "license": {"seats": 5}}


class AsyncFeaturesProbe:
    @hookimpl
    def system_features(self, ctx: Any) -> Any:
        async def features() -> dict[str, Any]:
            return {"probe_async": ctx.settings.mode}

        return features()


class LicenseProbe:
    def __init__(self, status: str) -> None:
        self.status = status

    @hookimpl
    def license_status(self, ctx: Any) -> Any:
        async def status() -> str:
            return self.status

        return status()


async def test_hook_system_features(make_settings, backend):
    """Each plugin's contribution is merged into system-features; nested dicts keep the core's keys."""
    probes = {"features_probe": FeaturesProbe(), "async_features_probe": AsyncFeaturesProbe()}
    async with probe_host(make_settings, probes) as ctx, probe_client(ctx) as client:
        response = await client.get(FEATURES)
    assert response.status_code == 200
    body = response.json()
    assert body["probe_button"] is True
    assert body["probe_async"] == ctx.settings.mode
    assert body["license"] == {"status": "none", "seats": 5}  # the core's key, untouched
    assert set(body["plugins"]) == {"features_probe", "async_features_probe"}


async def test_hook_license_status(make_settings, backend):
    """The first plugin that reports a license status decides what system-features shows."""
    probes = {"license_probe": LicenseProbe("expiring")}
    async with probe_host(make_settings, probes) as ctx, probe_client(ctx) as client:
        assert (await client.get(FEATURES)).json()["license"] == {"status": "expiring"}


async def test_license_status_is_none_without_a_provider(make_settings, backend):
    """Without a license plugin (the community edition) the status is ``none``."""
    async with probe_host(make_settings, {}) as ctx, probe_client(ctx) as client:
        assert (await client.get(FEATURES)).json()["license"] == {"status": "none"}
