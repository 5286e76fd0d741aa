"""Test support for difyd and its plugins, installed with the server (docs/testing.md).

- ``core.testing.fixtures``: the pytest plugin (registered in the ``pytest11`` group as ``difyd``):
  both backends, a migrated database, a host, an app and a client, isolation between tests.
- ``core.testing.factories``: accounts, workspaces, memberships and apps through the core's services.
- ``core.testing.token_issuer``: a test plugin that hands a test bearer tokens for its subjects.
- ``core.testing.jobs``: a saq worker beside a test's app, and ``wait_for``.
"""
