"""Writes on the core domain, shared by the admin CLI, the demo seeder and tests."""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.passwords import hash_password
from core.db.affected import affected
from core.domain.app_config import user_input_form_problem
from core.domain.changes import MEMBERSHIPS, note_change
from core.domain.ids import parse_uuid
from core.domain.models import (
    Account,
    AccountStatus,
    App,
    AppMode,
    AppStatus,
    MemberRole,
    Membership,
    Tag,
    TagBinding,
    Workspace,
    WorkspaceStatus,
)


class DomainError(ValueError):
    """A write the domain refuses; the message says why."""


def _choice(kind: type[enum.StrEnum], value: str, what: str) -> str:
    """The value if it names a member of ``kind``; otherwise a DomainError listing the allowed ones."""
    try:
        return kind(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise DomainError(f"unknown {what} {value!r}; expected one of: {allowed}") from None


async def any_account_exists(session: AsyncSession) -> bool:
    return (await session.execute(select(Account.id).limit(1))).first() is not None


async def workspace_by_ref(session: AsyncSession, ref: str) -> Workspace:
    """A workspace named by its id or by its (unique) name."""
    ref = ref.strip()
    workspace_id = parse_uuid(ref)
    if workspace_id is not None:
        found = await session.get(Workspace, workspace_id)
        if found is not None:
            return found
    named = list((await session.execute(select(Workspace).where(Workspace.name == ref))).scalars())
    if len(named) > 1:
        raise DomainError(f"{len(named)} workspaces are named {ref!r}; name it by id instead")
    if not named:
        raise DomainError(f"no workspace with id or name {ref!r}")
    return named[0]


async def set_password(session: AsyncSession, account: Account, password: str) -> None:
    """A new password also ends the account's console sessions: whoever knew the old one and signed
    in with it is signed out (bearer tokens are the device flow's, revoked on their own)."""
    account.password_hash = hash_password(password)
    await end_console_sessions(session, account)


async def workspaces_with_roles(session: AsyncSession, account_id: uuid.UUID) -> list[dict[str, Any]]:
    """The account's workspaces, oldest membership first: id, name, status, role, whether current."""
    rows = await session.execute(
        select(Workspace.id, Workspace.name, Workspace.status, Membership.role, Membership.current)
        .join(Membership, Membership.tenant_id == Workspace.id)
        .where(Membership.account_id == account_id)
        .order_by(Membership.created_at)
    )
    return [
        {"id": str(id_), "name": name, "status": status, "role": role, "current": bool(current)}
        for id_, name, status, role, current in rows.all()
    ]


async def end_console_sessions(session: AsyncSession, account: Account) -> datetime.datetime:
    """Every console session of the account issued until now stops signing in with its next request,
    on every replica (each request reads the account row). Returns the instant."""
    now = datetime.datetime.now(datetime.UTC)
    account.sessions_revoked_at = now
    await session.flush()
    return now


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    return (
        await session.execute(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    ).scalar_one_or_none()


async def create_account(
    session: AsyncSession,
    email: str,
    name: str,
    password: str | None = None,
    status: str = AccountStatus.ACTIVE.value,
) -> Account:
    email, name = email.strip(), name.strip()
    if "@" not in email:
        raise DomainError(f"not an email address: {email!r}")
    if not name:
        raise DomainError("an account needs a name (--name)")
    if await account_by_email(session, email) is not None:
        raise DomainError(f"an account with email {email!r} already exists")
    status = _choice(AccountStatus, status, "account status")
    account = Account(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        status=status,
    )
    session.add(account)
    await session.flush()
    return account


async def create_workspace(
    session: AsyncSession,
    name: str,
    status: str = WorkspaceStatus.NORMAL.value,
    *,
    allow_duplicate_name: bool = False,
) -> Workspace:
    """A new workspace. Its name is how people refer to it (``--workspace Acme``): a second workspace
    of the same name is refused unless asked for, since it would make that name ambiguous."""
    name = name.strip()
    if not name:
        raise DomainError("a workspace needs a name")
    if not allow_duplicate_name:
        taken = await session.scalar(select(Workspace.id).where(Workspace.name == name).limit(1))
        if taken is not None:
            raise DomainError(
                f"a workspace named {name!r} already exists ({taken}); choose another name, or pass "
                "--allow-duplicate-name and refer to each by id"
            )
    status = _choice(WorkspaceStatus, status, "workspace status")
    workspace = Workspace(name=name, status=status)
    session.add(workspace)
    await session.flush()
    return workspace


async def add_member(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    account_id: uuid.UUID,
    role: str = MemberRole.NORMAL.value,
    current: bool | None = None,
) -> Membership:
    """Join an account to a workspace. The first workspace an account joins becomes its current one."""
    role = _choice(MemberRole, role, "role")
    joined_query = select(Membership.tenant_id).where(Membership.account_id == account_id)
    joined = set((await session.execute(joined_query)).scalars())
    if workspace_id in joined:
        raise DomainError("the account is already a member of this workspace")
    make_current = not joined if current is None else current
    if make_current:
        await session.execute(
            update(Membership).where(Membership.account_id == account_id).values(current=False)
        )
    membership = Membership(tenant_id=workspace_id, account_id=account_id, role=role, current=make_current)
    session.add(membership)
    await session.flush()
    note_change(session.info, MEMBERSHIPS)
    return membership


async def remove_member(session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Take an account out of a workspace; its tokens stop seeing the workspace once committed."""
    result = await session.execute(
        delete(Membership).where(Membership.tenant_id == workspace_id, Membership.account_id == account_id)
    )
    if affected(result) == 0:
        raise DomainError("the account is not a member of this workspace")
    note_change(session.info, MEMBERSHIPS)


async def set_member_role(
    session: AsyncSession, workspace_id: uuid.UUID, account_id: uuid.UUID, role: str
) -> None:
    role = _choice(MemberRole, role, "role")
    result = await session.execute(
        update(Membership)
        .where(Membership.tenant_id == workspace_id, Membership.account_id == account_id)
        .values(role=role)
    )
    if affected(result) == 0:
        raise DomainError("the account is not a member of this workspace")
    note_change(session.info, MEMBERSHIPS)


async def create_app(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    name: str,
    mode: str,
    *,
    description: str = "",
    created_by: uuid.UUID | None = None,
    enable_api: bool = True,
    status: str = AppStatus.NORMAL.value,
    icon: str = "🤖",
    config: dict[str, Any] | None = None,
    tags: Iterable[str] = (),
) -> App:
    mode = _choice(AppMode, mode, "app mode")
    status = _choice(AppStatus, status, "app status")
    name = name.strip()
    if not name:
        raise DomainError("an app needs a name")
    if len(name) > 255:
        raise DomainError("an app name has at most 255 characters")
    problem = user_input_form_problem(config)
    if problem is not None:
        raise DomainError(problem)
    app = App(
        tenant_id=workspace_id,
        name=name,
        mode=mode,
        description=description or "",
        created_by=created_by,
        enable_api=enable_api,
        status=status,
        icon=icon,
        config=config,
    )
    session.add(app)
    await session.flush()
    for tag_name in dict.fromkeys(tag.strip() for tag in tags if tag.strip()):
        await tag_app(session, app, tag_name, created_by)
    return app


async def tag_app(session: AsyncSession, app: App, tag_name: str, created_by: uuid.UUID | None = None) -> Tag:
    """Bind a workspace app tag (created on first use) to the app."""
    tag = (
        (
            await session.execute(
                select(Tag).where(Tag.tenant_id == app.tenant_id, Tag.type == "app", Tag.name == tag_name)
            )
        )
        .scalars()
        .first()
    )
    if tag is None:
        tag = Tag(tenant_id=app.tenant_id, type="app", name=tag_name, created_by=created_by)
        session.add(tag)
        await session.flush()
    session.add(TagBinding(tenant_id=app.tenant_id, tag_id=tag.id, target_id=app.id, created_by=created_by))
    await session.flush()
    return tag


async def app_by_id(session: AsyncSession, ref: str) -> App:
    """A live app by its id; a DomainError naming it otherwise."""
    app_id = parse_uuid(ref.strip())
    app = await session.get(App, app_id) if app_id is not None else None
    if app is None or app.status != AppStatus.NORMAL.value:
        raise DomainError(f"no app with id {ref.strip()!r}")
    return app


async def app_tag_names(session: AsyncSession, app: App) -> list[str]:
    """The names of the tags bound to an app, sorted."""
    names = await session.scalars(
        select(Tag.name).join(TagBinding, TagBinding.tag_id == Tag.id).where(TagBinding.target_id == app.id)
    )
    return sorted(names)


async def update_app(
    session: AsyncSession,
    app: App,
    *,
    name: str | None = None,
    description: str | None = None,
    enable_api: bool | None = None,
    config: dict[str, Any] | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> App:
    """Change what is given, leave the rest: ``enable_api`` switches the app's API on or off, ``config``
    replaces its configuration (checked like a new app's), tags are bound (created on first use) or
    unbound; binding a tag the app has is not an error."""
    if name is not None:
        if not name.strip():
            raise DomainError("an app needs a name")
        app.name = name.strip()
    if description is not None:
        app.description = description
    if enable_api is not None:
        app.enable_api = enable_api
    if config is not None:
        problem = user_input_form_problem(config)
        if problem is not None:
            raise DomainError(problem)
        app.config = config
    bound = set(await app_tag_names(session, app))
    for tag_name in dict.fromkeys(t.strip() for t in add_tags if t.strip()):
        if tag_name not in bound:
            await tag_app(session, app, tag_name)
    removed = {t.strip() for t in remove_tags if t.strip()}
    if removed:
        tag_ids = select(Tag.id).where(
            Tag.tenant_id == app.tenant_id, Tag.type == "app", Tag.name.in_(removed)
        )
        await session.execute(
            delete(TagBinding).where(TagBinding.target_id == app.id, TagBinding.tag_id.in_(tag_ids))
        )
    await session.flush()
    return app


async def set_account_status(session: AsyncSession, account: Account, status: str) -> None:
    """Ban, close or reactivate an account. Committed, it is announced like a membership change: every
    replica's cached token snapshots are dropped, so the account's tokens stop (or work again) at once,
    and its console sessions end with the next request."""
    account.status = _choice(AccountStatus, status, "account status")
    await session.flush()
    note_change(session.info, MEMBERSHIPS)


async def rename_workspace(session: AsyncSession, workspace: Workspace, name: str) -> None:
    """A new name, refused when blank or when another workspace has it (names are how people refer to
    workspaces)."""
    name = name.strip()
    if not name:
        raise DomainError("a workspace needs a name")
    taken = await session.scalar(
        select(Workspace.id).where(Workspace.name == name, Workspace.id != workspace.id).limit(1)
    )
    if taken is not None:
        raise DomainError(f"a workspace named {name!r} already exists ({taken})")
    workspace.name = name
    await session.flush()


async def set_workspace_status(session: AsyncSession, workspace: Workspace, status: str) -> None:
    """Archive a workspace (kept whole, hidden from its members: not listed, no role in it, so its apps
    answer as if absent) or bring it back. Announced like a membership change: every replica's cached
    token snapshots are dropped, so it takes effect at once."""
    workspace.status = _choice(WorkspaceStatus, status, "workspace status")
    await session.flush()
    note_change(session.info, MEMBERSHIPS)


async def delete_workspace(session: AsyncSession, workspace: Workspace, *, with_apps: bool = False) -> int:
    """Delete a workspace with its memberships, apps and tags (the database cascades); refused while it
    has apps unless ``with_apps``. Returns how many apps went with it."""
    apps = int(
        await session.scalar(select(func.count()).select_from(App).where(App.tenant_id == workspace.id)) or 0
    )
    if apps and not with_apps:
        raise DomainError(
            f"workspace {workspace.name!r} has {apps} app(s); delete them first or pass --with-apps"
        )
    await session.delete(workspace)
    await session.flush()
    note_change(session.info, MEMBERSHIPS)
    return apps


async def rename_account(session: AsyncSession, account: Account, name: str) -> None:
    if not name.strip():
        raise DomainError("an account needs a name (--name)")
    account.name = name.strip()
    await session.flush()


async def delete_app(session: AsyncSession, app: App) -> None:
    """Delete an app (its tag bindings go with it: the database cascades)."""
    await session.delete(app)
    await session.flush()
