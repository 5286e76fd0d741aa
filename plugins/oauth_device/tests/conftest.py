"""Fixtures of the oauth_device tests (the shared ones are in core/testing/fixtures.py).

The host runs the core and this plugin only: what it does together with other plugins is tested in
tests/integration/.
"""

from __future__ import annotations

import pytest

from plugins.oauth_device.runtime import Runtime, runtime_of

ENABLED_PLUGINS = ["oauth_device"]


@pytest.fixture
def enabled_plugins() -> list[str]:
    return list(ENABLED_PLUGINS)


@pytest.fixture
def runtime(host) -> Runtime:
    return runtime_of(host)
