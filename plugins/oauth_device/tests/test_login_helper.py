"""The device_login helper works end to end."""

from core.testing import factories
from plugins.oauth_device.tests.helpers import device_login
from tests.support.tokens import bearer


async def test_device_login_returns_a_working_token(client, host):
    """A full device login yields a dfoa_ token that /account accepts."""
    alice = await factories.person(host)
    ws = await factories.workspace(host, "Acme", (alice, "owner"))
    payload = await device_login(client, alice)
    assert payload["token"].startswith("dfoa_")
    assert payload["workspaces"] == [{"id": str(ws.id), "name": "Acme", "role": "owner"}]
    response = await client.get("/openapi/v1/account", headers=bearer(payload["token"]))
    assert response.status_code == 200, response.text
    assert response.json()["account"]["email"] == alice.email
