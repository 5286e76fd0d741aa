"""Fixtures of the oauth_device tests (the shared ones are in tests/support/fixtures.py)."""

from __future__ import annotations

import pytest

from plugins.oauth_device.runtime import Runtime, runtime_of


@pytest.fixture
def runtime(host) -> Runtime:
    return runtime_of(host)
