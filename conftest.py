"""Shared pytest fixtures for core and plugin tests (tests/support/fixtures.py)."""

pytest_plugins = ["tests.support.fixtures"]
