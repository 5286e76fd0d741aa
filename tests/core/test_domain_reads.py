"""The domain reads core offers every plugin: an app within a subject's workspaces (with the role),
an account's workspaces and its role in one. One statement each, on both databases."""

from __future__ import annotations

import uuid

from sqlalchemy import event

from core.domain import reads
from core.domain.models import AccountStatus
from core.testing import factories


def _counting(engine):
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


async def test_app_of_subject_answers_only_inside_the_subjects_workspaces(host):
    """A member gets the app and their role; a non-member, an archived app or an unknown id get None
    alike (ids of other workspaces do not leak). Each answer is one statement."""
    alice = await factories.person(host, email="reads-alice@example.com")
    mine = await factories.workspace(host, "Mine", (alice, "editor"))
    theirs = await factories.workspace(host, "Theirs")
    app = await factories.app(host, mine, "Visible", tags=["t1", "t2"], config={"k": 1})
    foreign = await factories.app(host, theirs, "Foreign")
    archived = await factories.app(host, mine, "Archived", status="archived")
    memberships = {str(mine.id): "editor"}
    statements = _counting(host.reads)
    async with host.reads.connect() as conn:
        found = await reads.app_of_subject(conn, app.id, memberships, details=True, config=True)
        assert found is not None and found.role == "editor"
        assert (found.app.name, found.app.tags, found.app.config) == ("Visible", ("t1", "t2"), {"k": 1})
        assert found.app.workspace_name == "Mine"
        for other in (foreign.id, archived.id, uuid.uuid4()):
            assert await reads.app_of_subject(conn, other, memberships) is None
    assert len(statements) == 4


async def test_role_in_is_the_active_members_role(host):
    """role_in answers the role of an active member, None for others and for a banned account."""
    alice = await factories.person(host, email="role-alice@example.com")
    banned = await factories.person(host, email="role-banned@example.com", status=AccountStatus.BANNED.value)
    ws = await factories.workspace(host, "Roles", (alice, "admin"), (banned, "owner"))
    outsider = await factories.person(host, email="role-out@example.com")
    async with host.reads.connect() as conn:
        assert await reads.role_in(conn, alice.account.id, ws.id) == "admin"
        assert await reads.role_in(conn, banned.account.id, ws.id) is None
        assert await reads.role_in(conn, outsider.account.id, ws.id) is None


async def test_workspaces_of_lists_oldest_first_with_roles(host):
    alice = await factories.person(host, email="ws-alice@example.com")
    first = await factories.workspace(host, "First", (alice, "owner"))
    second = await factories.workspace(host, "Second", (alice, "normal"))
    async with host.reads.connect() as conn:
        rows = await reads.workspaces_of(conn, alice.account.id)
        one = await reads.workspace_of(conn, alice.account.id, second.id)
    expected = [(first.id, "owner", True), (second.id, "normal", False)]
    assert [(r.id, r.role, r.current) for r in rows] == expected
    assert one is not None and one.name == "Second"
