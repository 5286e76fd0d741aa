"""The console session is the other way in (the web editor): cookies, with CSRF on every write."""

from __future__ import annotations

import pytest

from core.testing import factories

pytestmark = pytest.mark.parametrize("storage_kind", ["local"])


async def test_a_console_session_reads_and_writes_with_its_csrf_token(client, host):
    ed = await factories.person(host, "ed@example.com", "Ed")
    ws = await factories.workspace(host, "Acme", (ed, "editor"))
    app = await factories.app(host, ws, "Skills", "workflow")
    base = f"/console/api/apps/{app.id}/assets"
    login = await client.post("/console/api/login", json={"email": ed.email, "password": ed.password})
    assert login.status_code == 200

    assert (await client.get(f"{base}/tree")).status_code == 200
    refused = await client.post(f"{base}/folders", json={"name": "docs"})
    assert refused.status_code == 401  # no X-CSRF-Token: a cross-site form could have sent this
    csrf = {"X-CSRF-Token": client.cookies["csrf_token"]}
    made = await client.post(f"{base}/folders", json={"name": "docs"}, headers=csrf)
    assert made.status_code == 201 and made.json()["name"] == "docs"
    form = await client.post(f"{base}/folders", data={"name": "x"}, headers=csrf)
    assert form.status_code == 415  # JSON only: a form cannot carry it without a preflight
