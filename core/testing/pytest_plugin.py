"""The ``pytest11`` entry point of difyd: pytest loads it wherever difyd is installed.

It brings in the fixtures (``core.testing.fixtures``) only where the test extra is installed
(``pip install "difyd[testing]"``): a production install that happens to have pytest must not fail
to start pytest for want of pytest-asyncio.
"""

from __future__ import annotations

import importlib.util

import pytest

pytest_plugins = ["core.testing.fixtures"] if importlib.util.find_spec("pytest_asyncio") else []

# The fixtures keep one event loop for the whole session (pooled database and Redis connections are
# bound to the loop that opened them); tests must run on it too.
SESSION_LOOP = {"asyncio_default_fixture_loop_scope": "session", "asyncio_default_test_loop_scope": "session"}


def pytest_configure(config: pytest.Config) -> None:
    if not pytest_plugins:
        return
    wrong = [key for key, value in SESSION_LOOP.items() if _ini(config, key) != value]
    if wrong:
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                "difyd's fixtures run on one event loop per session: set "
                + ", ".join(f'{key} = "session"' for key in wrong)
                + " under [tool.pytest.ini_options] (docs/testing.md)"
            ),
            stacklevel=2,
        )


def _ini(config: pytest.Config, key: str) -> object:
    try:
        return config.getini(key)
    except ValueError:  # pytest-asyncio too old to know the option
        return None
