"""The example plugin's tests use difyd's own fixtures (``core.testing``), which pytest loads from the
installed difyd: nothing here reaches into the difyd checkout."""

from __future__ import annotations

import pytest

from core.testing.token_issuer import TOKEN_ISSUER


@pytest.fixture
def enabled_plugins() -> list[str]:
    """Only this plugin, plus the test plugin that issues bearer tokens."""
    return ["hello", TOKEN_ISSUER]
