"""Membership changes are announced after their commit, from any session of the host, and a failing
announcement never fails the change it announces."""

from __future__ import annotations

from core.domain import services
from core.domain.changes import GENERATION_KEY
from core.testing import factories


async def _generation(host) -> int:
    return int(await host.state.get(GENERATION_KEY) or 0)


async def test_a_change_on_any_session_of_the_host_moves_the_generation(host):
    """Through ctx.session() or a plain session from ctx.session_maker alike, a committed membership
    change moves the generation; a rolled-back one does not."""
    alice = await factories.person(host, email="changes@example.com")
    first = await factories.workspace(host, "First")
    second = await factories.workspace(host, "Second")
    before = await _generation(host)
    async with host.session() as session:
        await services.add_member(session, first.id, alice.account.id, "owner")
    assert await _generation(host) == before + 1
    async with host.session_maker() as session, session.begin():
        await services.add_member(session, second.id, alice.account.id, "normal")
    await host.announced()
    assert await _generation(host) == before + 2
    async with host.session_maker() as session:
        await session.begin()
        await services.remove_member(session, second.id, alice.account.id)
        await session.rollback()
    await host.announced()
    assert await _generation(host) == before + 2


async def test_a_failing_announcement_does_not_fail_the_change(host):
    """With the state store failing, the membership change still commits and the caller is not told
    otherwise (cached snapshots lapse on their own within the positive cache time)."""
    alice = await factories.person(host, email="quiet@example.com")
    ws = await factories.workspace(host, "Quiet")

    async def broken_incr(*_args, **_kwargs):
        raise ConnectionError("state store down")

    host.state.incr = broken_incr
    try:
        async with host.session() as session:
            await services.add_member(session, ws.id, alice.account.id, "owner")
    finally:
        del host.state.incr
    async with host.reads.connect() as conn:
        from core.domain import reads

        assert await reads.role_in(conn, alice.account.id, ws.id) == "owner"
