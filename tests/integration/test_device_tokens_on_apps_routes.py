"""Tokens the device flow mints, on the routes of the apps plugin."""

from __future__ import annotations

from plugins.oauth_device.tests.helpers import insert_external_token
from tests.support.tokens import bearer


async def test_wrong_subject_kind_is_403(client, host):
    """A dfoe_ token on an account-only route answers 403 (subject type not accepted)."""
    token, _ = await insert_external_token(host)
    response = await client.get("/openapi/v1/workspaces", headers=bearer(token))
    assert response.status_code == 403
