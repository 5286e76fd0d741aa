"""Fixtures of the sso_enterprise tests: the core and this plugin only, and an issuer's key pair."""

from __future__ import annotations

import pytest

from plugins.sso_enterprise.license import new_key_pair

ENABLED_PLUGINS = ["sso_enterprise"]


@pytest.fixture
def enabled_plugins() -> list[str]:
    return list(ENABLED_PLUGINS)


@pytest.fixture(scope="session")
def issuer_keys() -> tuple[str, str]:
    """(private PEM, public PEM) of a test issuer."""
    return new_key_pair()
