"""The admin command line: accounts, workspaces, members and apps, written through the domain services."""

from __future__ import annotations

import json
import re
import uuid

from sqlalchemy import select

from core.auth.passwords import verify_password
from core.domain import services
from core.domain.models import Account, App, Membership, Tag, TagBinding
from core.testing import factories


async def _account(host, email: str) -> Account | None:
    async with host.session() as session:
        return await services.account_by_email(session, email)


async def _memberships(host, account_id) -> dict[uuid.UUID, Membership]:
    async with host.session() as session:
        rows = (
            await session.execute(select(Membership).where(Membership.account_id == account_id))
        ).scalars()
        return {row.tenant_id: row for row in rows}


async def _app_named(host, name: str) -> tuple[App, list[str]]:
    async with host.session() as session:
        app = (await session.execute(select(App).where(App.name == name))).scalar_one()
        tags = (
            await session.execute(
                select(Tag.name)
                .join(TagBinding, TagBinding.tag_id == Tag.id)
                .where(TagBinding.target_id == app.id)
            )
        ).scalars()
        return app, sorted(tags)


def _created_id(output: str) -> str:
    match = re.search(r"created \w+ ([0-9a-f-]{36})", output)
    assert match, output
    return match.group(1)


async def test_accounts_create_with_password(difyd, host):
    """An account created with --password can sign in with it; its id is printed."""
    result = await difyd(
        "accounts", "create", "--email", "ana@example.com", "--name", "Ana", "--password", "s3cret-enough"
    )
    assert result.exit_code == 0, result.output
    account = await _account(host, "ana@example.com")
    assert account is not None and str(account.id) == _created_id(result.output)
    assert account.name == "Ana" and account.status == "active"
    assert verify_password(account.password_hash, "s3cret-enough")


async def test_accounts_create_duplicate_email_is_refused(difyd, host):
    """A second account with the same email (any case) is a one-line error, exit status 1."""
    await factories.person(host, "ana@example.com")
    result = await difyd(
        "accounts", "create", "--email", "ANA@example.com", "--name", "Other", "--password", "s3cret-enough"
    )
    assert result.exit_code == 1
    assert "already exists" in result.output and "Traceback" not in result.output


async def test_accounts_create_without_a_name_is_refused(difyd, host):
    """A blank --name would show as nothing on the /device page and in every list."""
    result = await difyd(
        "accounts", "create", "--email", "ana@example.com", "--name", "  ", "--password", "s3cret-enough"
    )
    assert (result.exit_code, result.output) == (1, "Error: an account needs a name (--name)\n")
    assert await _account(host, "ana@example.com") is None


async def test_a_second_workspace_of_the_same_name_is_refused_unless_asked_for(difyd, host):
    """Two "Acme"s would make every later `--workspace Acme` fail: refused, with the way out."""
    first = await difyd("workspaces", "create", "--name", "Acme")
    assert first.exit_code == 0, first.output
    again = await difyd("workspaces", "create", "--name", "Acme")
    assert again.exit_code == 1
    assert f"a workspace named 'Acme' already exists ({_created_id(first.output)})" in again.output
    assert "--allow-duplicate-name" in again.output
    forced = await difyd("workspaces", "create", "--name", "Acme", "--allow-duplicate-name")
    assert forced.exit_code == 0, forced.output


async def test_version_is_printed(difyd):
    from core import __version__

    result = await difyd("--version")
    assert (result.exit_code, result.output) == (0, f"difyd {__version__}\n")


async def test_accounts_create_prompts_for_password(difyd, host):
    """Without --password the password is asked twice, hidden, and stored."""
    result = await difyd(
        "accounts",
        "create",
        "--email",
        "bo@example.com",
        "--name",
        "Bo",
        "--status",
        "pending",
        input="typed-password\ntyped-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "typed-password" not in result.output
    account = await _account(host, "bo@example.com")
    assert account.status == "pending"
    assert verify_password(account.password_hash, "typed-password")


async def test_accounts_create_generated_password_is_printed(difyd, host):
    """--generate-password prints the password once, and it is the one stored."""
    result = await difyd(
        "accounts", "create", "--email", "cy@example.com", "--name", "Cy", "--generate-password"
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output).group(1)
    assert len(password) >= 16
    assert verify_password((await _account(host, "cy@example.com")).password_hash, password)


async def test_accounts_create_rejects_short_password_and_bad_status(difyd, host):
    """A too-short password and an unknown status are refused before anything is written."""
    short = await difyd(
        "accounts", "create", "--email", "d@example.com", "--name", "D", "--password", "short"
    )
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    status = await difyd(
        "accounts",
        "create",
        "--email",
        "d@example.com",
        "--name",
        "D",
        "--password",
        "long-enough",
        "--status",
        "zombie",
    )
    assert status.exit_code == 2 and "zombie" in status.output
    assert await _account(host, "d@example.com") is None


async def test_accounts_set_password(difyd, host):
    """set-password replaces the password; an unknown email is a clean error."""
    person = await factories.person(host, "eve@example.com")
    result = await difyd("accounts", "set-password", "--email", person.email, "--password", "a-new-password")
    assert result.exit_code == 0, result.output
    assert verify_password((await _account(host, person.email)).password_hash, "a-new-password")
    missing = await difyd(
        "accounts", "set-password", "--email", "nobody@example.com", "--password", "whatever1"
    )
    assert missing.exit_code == 1 and "no account" in missing.output


async def test_workspaces_create_and_members_add(difyd, host):
    """Members join by workspace name or id with a role; --current moves the current workspace."""
    person = await factories.person(host, "fay@example.com")
    first = await difyd("workspaces", "create", "--name", "Acme")
    second = await difyd("workspaces", "create", "--name", "Globex")
    assert first.exit_code == 0 and second.exit_code == 0
    acme, globex = uuid.UUID(_created_id(first.output)), uuid.UUID(_created_id(second.output))

    by_name = await difyd(
        "members", "add", "--workspace", "Acme", "--email", "FAY@example.com", "--role", "admin"
    )
    assert by_name.exit_code == 0, by_name.output
    by_id = await difyd(
        "members",
        "add",
        "--workspace",
        str(globex),
        "--email",
        person.email,
        "--role",
        "dataset_operator",
        "--current",
    )
    assert by_id.exit_code == 0, by_id.output

    joins = await _memberships(host, person.account.id)
    assert joins[acme].role == "admin" and joins[globex].role == "dataset_operator"
    assert joins[globex].current and not joins[acme].current
    listed = await difyd("workspaces", "list")
    assert "Acme" in listed.output and str(globex) in listed.output


async def test_first_membership_becomes_current(difyd, host):
    """An account's first workspace is its current one without --current."""
    person = await factories.person(host, "gus@example.com")
    await difyd("workspaces", "create", "--name", "Initech")
    result = await difyd("members", "add", "--workspace", "Initech", "--email", person.email)
    assert result.exit_code == 0 and "as normal" in result.output
    (join,) = (await _memberships(host, person.account.id)).values()
    assert join.current and join.role == "normal"


async def test_members_add_errors_are_clean(difyd, host):
    """Unknown workspace, unknown email, bad role, duplicate and ambiguous names: messages, no traceback."""
    person = await factories.person(host, "hal@example.com")
    await factories.workspace(host, "Acme", (person, "owner"))
    await factories.workspace(host, "Twin")
    await factories.workspace(host, "Twin")
    cases = [
        (["--workspace", "Nowhere", "--email", person.email], 1, "no workspace"),
        (["--workspace", "Acme", "--email", "ghost@example.com"], 1, "no account"),
        (["--workspace", "Acme", "--email", person.email, "--role", "king"], 2, "king"),
        (["--workspace", "Acme", "--email", person.email, "--role", "editor"], 1, "already a member"),
        (["--workspace", "Twin", "--email", person.email], 1, "by id instead"),
    ]
    for args, status, message in cases:
        result = await difyd("members", "add", *args)
        assert result.exit_code == status, (args, result.output)
        assert message in result.output


async def test_apps_create_from_options(difyd, host, tmp_path):
    """Options set name, mode, description, repeatable tags, author, API switch and a config file."""
    author = await factories.person(host, "ida@example.com", "Ida")
    await factories.workspace(host, "Acme", (author, "owner"))
    config = tmp_path / "config.yaml"
    config.write_text(
        "opening_statement: Hello\nuser_input_form:\n  - text-input: {variable: who, label: Who}\n"
    )
    result = await difyd(
        "apps",
        "create",
        "--workspace",
        "Acme",
        "--name",
        "Greeter",
        "--mode",
        "chat",
        "--description",
        "Says hello",
        "--tag",
        "demo",
        "--tag",
        "fun",
        "--tag",
        "demo",
        "--created-by",
        author.email,
        "--no-api",
        "--config-file",
        str(config),
    )
    assert result.exit_code == 0, result.output
    app, tags = await _app_named(host, "Greeter")
    assert str(app.id) == _created_id(result.output)
    assert (app.mode, app.description, app.enable_api, app.created_by) == (
        "chat",
        "Says hello",
        False,
        author.account.id,
    )
    assert tags == ["demo", "fun"]
    assert app.config["user_input_form"] == [{"text-input": {"variable": "who", "label": "Who"}}]


async def test_apps_create_from_file(difyd, host, tmp_path):
    """--from-file reads a YAML or JSON app; options given beside it win."""
    await factories.workspace(host, "Acme")
    app_file = tmp_path / "app.json"
    app_file.write_text(
        '{"name": "Flow", "mode": "workflow", "workspace": "Acme", "tags": ["ops"],'
        ' "description": "From a file", "enable_api": true,'
        ' "config": {"features": {}, "graph": {"nodes": []}}}'
    )
    result = await difyd("apps", "create", "--from-file", str(app_file), "--name", "Renamed")
    assert result.exit_code == 0, result.output
    app, tags = await _app_named(host, "Renamed")
    assert (app.mode, app.description, app.enable_api, tags) == ("workflow", "From a file", True, ["ops"])
    assert app.config == {"features": {}, "graph": {"nodes": []}}


async def test_apps_create_errors_are_clean(difyd, host, tmp_path):
    """Bad mode, bad or missing file, unknown fields, missing workspace or author: messages, no traceback."""
    await factories.workspace(host, "Acme")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: X\nmode: chat\nworkspace: Acme\ncolour: red\n")
    listing = tmp_path / "list.yaml"
    listing.write_text("- name: X\n")
    base = ["--workspace", "Acme", "--name", "X"]
    cases = [
        ([*base, "--mode", "rag-pipeline"], 1, "unknown app mode"),
        (["--name", "X", "--mode", "chat"], 2, "missing --workspace"),
        (["--workspace", "Acme", "--mode", "chat"], 2, "missing --name"),
        (["--workspace", "Nowhere", "--name", "X", "--mode", "chat"], 1, "no workspace"),
        ([*base, "--mode", "chat", "--created-by", "ghost@example.com"], 1, "no account"),
        (["--from-file", str(broken)], 1, "not valid YAML"),
        (["--from-file", str(unknown)], 1, "unknown field `colour`"),
        (["--from-file", str(listing)], 1, "must hold a mapping"),
        (["--from-file", str(tmp_path / "missing.yaml")], 1, "cannot read"),
        ([*base, "--mode", "chat", "--config-file", str(listing)], 1, "must hold a mapping"),
    ]
    for args, status, message in cases:
        result = await difyd("apps", "create", *args)
        assert result.exit_code == status, (args, result.output)
        assert message in result.output, (args, result.output)
    async with host.session() as session:
        assert (await session.execute(select(App.id))).first() is None


async def test_unmigrated_database_is_a_clean_error(difyd, settings, tmp_path, backend):
    """A database without tables (or absent) is reported in one line with the fix, not a traceback."""
    import msgspec

    from tests.admin.conftest import settings_toml

    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        if backend == "sqlite"
        else settings.database.url.rsplit("/", 1)[0] + "/difyd_no_such_database"
    )
    other = msgspec.structs.replace(settings, database=msgspec.structs.replace(settings.database, url=url))
    config = tmp_path / "empty.toml"
    config.write_text(settings_toml(other))
    result = await difyd("accounts", "list", config=config)
    assert result.exit_code == 1
    assert "database error" in result.output and "difyd database upgrade" in result.output


async def test_members_are_listed_changed_and_removed(difyd, host):
    """list (and --json), set-role and remove: each through the domain services, each refusal one line."""
    fay = await factories.person(host, "fay@example.com", "Fay")
    gus = await factories.person(host, "gus@example.com", "Gus")
    acme = await factories.workspace(host, "Acme", (fay, "owner"), (gus, "normal"))

    listed = await difyd("members", "list", "--workspace", "Acme")
    assert listed.output.splitlines() == [
        "<fay@example.com>  'Fay'  owner  (current)",
        "<gus@example.com>  'Gus'  normal  (current)",
    ]
    promoted = await difyd("members", "set-role", "--workspace", "Acme", "--email", "gus@example.com",
                           "--role", "editor")
    assert (promoted.exit_code, promoted.output) == (0, "<gus@example.com> is now editor in 'Acme'\n")
    assert (await _memberships(host, gus.account.id))[acme.id].role == "editor"

    removed = await difyd("members", "remove", "--workspace", str(acme.id), "--email", "gus@example.com")
    assert (removed.exit_code, removed.output) == (0, "removed <gus@example.com> from 'Acme'\n")
    as_json = await difyd("members", "list", "--workspace", "Acme", "--json")
    assert [m["email"] for m in json.loads(as_json.output)] == ["fay@example.com"]

    again = await difyd("members", "remove", "--workspace", "Acme", "--email", "gus@example.com")
    assert (again.exit_code, again.output) == (1, "Error: the account is not a member of this workspace\n")


async def test_apps_are_listed_and_their_api_switched(difyd, host):
    """An app created with --no-api is switched on by `apps update --enable-api`: what the 403 hint of
    the apps routes tells people to ask for."""
    ws = await factories.workspace(host, "Acme")
    draft = await factories.app(host, ws, "Draft", enable_api=False)
    listed = await difyd("apps", "list", "--workspace", "Acme", "--json")
    assert json.loads(listed.output) == [
        {"id": str(draft.id), "name": "Draft", "mode": "chat", "api": False, "workspace": "Acme"}
    ]
    switched = await difyd("apps", "update", "--app", str(draft.id), "--enable-api", "--name", "Ready")
    assert (switched.exit_code, switched.output) == (0, f"updated app {draft.id} 'Ready' (api on)\n")
    app, _ = await _app_named(host, "Ready")
    assert app.enable_api is True

    nothing = await difyd("apps", "update", "--app", str(draft.id))
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    unknown = await difyd("apps", "update", "--app", "not-an-id", "--disable-api")
    assert (unknown.exit_code, unknown.output) == (1, "Error: no app with id 'not-an-id'\n")


async def test_accounts_set_status(difyd, host):
    """Ban and reactivate through the command line; an unknown status is a usage error."""
    await factories.person(host, "eve@example.com", "Eve")
    banned = await difyd("accounts", "set-status", "--email", "eve@example.com", "--status", "banned")
    assert (banned.exit_code, banned.output) == (0, "<eve@example.com> is now banned\n")
    assert (await _account(host, "eve@example.com")).status == "banned"
    wrong = await difyd("accounts", "set-status", "--email", "eve@example.com", "--status", "gone")
    assert wrong.exit_code == 2


async def test_accounts_end_sessions_and_show(difyd, host):
    """end-sessions records the instant (audited); show prints it with the account's workspaces and
    roles; set-password ends the sessions too."""
    eve = await factories.person(host, "eve@example.com", "Eve")
    await factories.workspace(host, "Eve's", (eve, "owner"))
    shown = json.loads((await difyd("accounts", "show", "--email", "eve@example.com")).output)
    assert shown["sessions_revoked_at"] is None and shown["has_password"] is True
    assert [(w["name"], w["role"], w["current"]) for w in shown["workspaces"]] == [("Eve's", "owner", True)]

    ended = await difyd("accounts", "end-sessions", "--email", "eve@example.com")
    assert (ended.exit_code, ended.output) == (0, "console sessions of <eve@example.com> have ended\n")
    first = json.loads((await difyd("accounts", "show", "--email", "EVE@example.com")).output)
    assert first["sessions_revoked_at"] is not None

    new_password = ("--password", "another one!")
    reset = await difyd("accounts", "set-password", "--email", "eve@example.com", *new_password)
    assert reset.exit_code == 0 and "sessions have ended" in reset.output
    second = json.loads((await difyd("accounts", "show", "--email", "eve@example.com")).output)
    assert second["sessions_revoked_at"] > first["sessions_revoked_at"]

    missing = await difyd("accounts", "end-sessions", "--email", "nobody@example.com")
    assert missing.exit_code == 1 and "no account with email" in missing.output


async def test_workspaces_archive_and_unarchive(difyd, host):
    """archive sets the status (shown by list), unarchive restores it; an unknown workspace is refused."""
    owner = await factories.person(host, "olga@example.com", "Olga")
    await factories.workspace(host, "Old Projects", (owner, "owner"))
    archived = await difyd("workspaces", "archive", "--workspace", "Old Projects")
    assert archived.exit_code == 0 and "archived workspace 'Old Projects'" in archived.output
    listed = json.loads((await difyd("workspaces", "list", "--json")).output)
    assert [(w["name"], w["status"]) for w in listed] == [("Old Projects", "archive")]
    shown = json.loads((await difyd("accounts", "show", "--email", "olga@example.com")).output)
    assert shown["workspaces"][0]["status"] == "archive"  # the admin still sees it
    back = await difyd("workspaces", "unarchive", "--workspace", "Old Projects")
    assert (back.exit_code, back.output) == (0, "workspace 'Old Projects' is in use again\n")
    listed = json.loads((await difyd("workspaces", "list", "--json")).output)
    assert listed[0]["status"] == "normal"
    missing = await difyd("workspaces", "archive", "--workspace", "Nope")
    assert missing.exit_code == 1


async def test_workspaces_are_renamed_and_deleted_with_care(difyd, host):
    """Rename refuses a taken name; delete asks for confirmation, refuses while apps remain unless
    --with-apps, and takes memberships and apps with it."""
    fay = await factories.person(host, "fay@example.com", "Fay")
    acme = await factories.workspace(host, "Acme", (fay, "owner"))
    await factories.workspace(host, "Globex")
    await factories.app(host, acme, "Greeter")

    taken = await difyd("workspaces", "rename", "--workspace", "Acme", "--name", "Globex")
    assert taken.exit_code == 1 and "a workspace named 'Globex' already exists" in taken.output
    renamed = await difyd("workspaces", "rename", "--workspace", "Acme", "--name", "Acme Corp")
    assert (renamed.exit_code, renamed.output) == (0, "renamed workspace 'Acme' to 'Acme Corp'\n")

    declined = await difyd("workspaces", "delete", "--workspace", "Acme Corp", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    refused = await difyd("workspaces", "delete", "--workspace", "Acme Corp", "--yes")
    assert refused.exit_code == 1 and "has 1 app(s)" in refused.output and "--with-apps" in refused.output
    deleted = await difyd("workspaces", "delete", "--workspace", "Acme Corp", "--yes", "--with-apps")
    assert (deleted.exit_code, deleted.output) == (0, "deleted workspace 'Acme Corp' and its 1 app(s)\n")
    assert await _memberships(host, fay.account.id) == {}
    remaining = json.loads((await difyd("workspaces", "list", "--json")).output)
    assert [w["name"] for w in remaining] == ["Globex"]


async def test_accounts_rename_and_list_json_and_apps_delete(difyd, host):
    ws = await factories.workspace(host, "Acme")
    app = await factories.app(host, ws, "Greeter")
    await factories.person(host, "eve@example.com", "Eve")
    renamed = await difyd("accounts", "rename", "--email", "eve@example.com", "--name", "Eve Adams")
    assert (renamed.exit_code, renamed.output) == (0, "<eve@example.com> is now 'Eve Adams'\n")
    accounts = json.loads((await difyd("accounts", "list", "--json")).output)
    assert [(a["email"], a["name"]) for a in accounts] == [("eve@example.com", "Eve Adams")]

    deleted = await difyd("apps", "delete", "--app", str(app.id), "--yes")
    assert (deleted.exit_code, deleted.output) == (0, f"deleted app {app.id} 'Greeter'\n")
    assert json.loads((await difyd("apps", "list", "--json")).output) == []


async def test_a_malformed_input_form_is_refused_naming_the_row(difyd, host, tmp_path):
    """`describe` would have silently dropped the row: the app is not created, and the message says
    which row and what is wrong."""
    await factories.workspace(host, "Acme")
    config = tmp_path / "config.yaml"
    config.write_text("user_input_form:\n  - text-input: {variable: name}\n  - select: {label: Tier}\n")
    result = await difyd("apps", "create", "--workspace", "Acme", "--name", "Broken", "--mode", "chat",
                         "--config-file", str(config))
    assert result.exit_code == 1
    assert result.output == (
        "Error: config.user_input_form[1].select.variable must be a name "
        "(letters, digits, _; a letter first)\n"
    )
    assert json.loads((await difyd("apps", "list", "--json")).output) == []


async def test_apps_are_filtered_by_mode_and_shown_whole(difyd, host):
    ws = await factories.workspace(host, "Acme")
    chat = await factories.app(
        host, ws, "Greeter", "chat", tags=["support"], config={"opening_statement": "Hi"}
    )
    await factories.app(host, ws, "Flow", "workflow")
    listed = json.loads((await difyd("apps", "list", "--mode", "chat", "--json")).output)
    assert [app["name"] for app in listed] == ["Greeter"]
    shown = json.loads((await difyd("apps", "show", "--app", str(chat.id))).output)
    assert shown["workspace"]["name"] == "Acme" and shown["tags"] == ["support"]
    assert shown["config"] == {"opening_statement": "Hi"} and shown["api"] is True


async def test_apps_update_tags_and_config(difyd, host, tmp_path):
    """Tags are added (twice is fine) and removed; a new config replaces the old one and is checked
    like a new app's."""
    ws = await factories.workspace(host, "Acme")
    app = await factories.app(host, ws, "Greeter", tags=["old"])
    config = tmp_path / "config.yaml"
    config.write_text("opening_statement: Hello again\n")
    for _ in range(2):
        result = await difyd("apps", "update", "--app", str(app.id), "--tag", "new", "--untag", "old",
                             "--config-file", str(config))
        assert result.exit_code == 0, result.output
    _, tags = await _app_named(host, "Greeter")
    assert tags == ["new"]
    shown = json.loads((await difyd("apps", "show", "--app", str(app.id))).output)
    assert shown["config"] == {"opening_statement": "Hello again"}

    config.write_text("user_input_form: oops\n")
    refused = await difyd("apps", "update", "--app", str(app.id), "--config-file", str(config))
    assert refused.exit_code == 1 and "config.user_input_form must be a list" in refused.output
