"""The fixtures come from difyd's own pytest plugin (core/testing/fixtures.py), which pytest loads
through the ``pytest11`` entry point of the installed package, as it does for any plugin package."""
