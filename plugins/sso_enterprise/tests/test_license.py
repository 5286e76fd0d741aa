"""The enterprise license: every status, expiry passing and a new license file while the server runs,
what the console is told, and the issuer's command line."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.app import create_app
from core.testing.fixtures import host_for, serve
from plugins.sso_enterprise.license import issue, new_key_pair

NOW = datetime.datetime.now(datetime.UTC)
PLUGIN = "plugin.sso_enterprise"


def doc(private: str, days: float, **kw: Any) -> str:
    return issue(private, "Acme Corp", NOW + datetime.timedelta(days=days), **kw)


async def status_with(make_settings: Any, **overrides: Any) -> str:
    settings = make_settings(**{f"{PLUGIN}.{key}": value for key, value in overrides.items()})
    async with host_for(settings) as ctx:
        return await ctx.license.status()


async def test_each_status(make_settings, issuer_keys, tmp_path):
    """none without a license; active, expiring (within expiring_days), expired; lost when the document
    is garbage, signed with another key, unreadable, or there is no key to check it with."""
    private, public = issuer_keys
    other_private, _ = new_key_pair()
    cases = {
        "none": {},
        "active": {"license": doc(private, 200), "public_key": public},
        "expiring": {"license": doc(private, 10), "public_key": public},
        "expired": {"license": doc(private, -1), "public_key": public},
        "lost (garbage)": {"license": "not.a.license", "public_key": public},
        "lost (another issuer)": {"license": doc(other_private, 200), "public_key": public},
        "lost (no key)": {"license": doc(private, 200)},
        "lost (missing file)": {"license_file": str(tmp_path / "nowhere.lic"), "public_key": public},
    }
    for name, overrides in cases.items():
        expected = name.split(" ")[0]
        assert await status_with(make_settings, **overrides) == expected, name


async def test_expiry_passing_and_a_new_file_take_effect_without_a_restart(
    make_settings, issuer_keys, tmp_path
):
    private, public = issuer_keys
    path = tmp_path / "difyd.lic"
    path.write_text(doc(private, 40))
    settings = make_settings(**{f"{PLUGIN}.license_file": str(path), f"{PLUGIN}.public_key": public})
    async with host_for(settings) as ctx:
        assert await ctx.license.status() == "active"
        start = ctx.clock()
        for days, expected in ((11, "expiring"), (41, "expired")):
            ctx.clock = lambda days=days: start + days * 86400
            ctx.license.forget()  # past the core's few seconds of caching
            assert await ctx.license.status() == expected, days
        path.write_text(doc(private, 400))  # the renewal arrives
        ctx.license.forget()
        assert await ctx.license.status() == "active"


async def test_the_console_is_told_the_status(make_settings, issuer_keys):
    private, public = issuer_keys
    settings = make_settings(**{f"{PLUGIN}.license": doc(private, 5), f"{PLUGIN}.public_key": public})
    async with host_for(settings) as ctx, serve(create_app(ctx=ctx)) as client:
        body = (await client.get("/console/api/system-features")).json()
    assert body["license"]["status"] == "expiring"


def test_keygen_issue_and_status_from_the_command_line(tmp_path: Path) -> None:
    """The issuer's side (keygen, issue) and the operator's (status), as commands in their own process."""
    difyd = str(Path(sys.executable).with_name("difyd"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DIFYD_")},
        "DIFYD_DATA_DIR": str(tmp_path),
        "DIFYD_PLUGINS__ENABLED": "sso_enterprise",
        "DIFYD_PLUGINS__SSO_ENTERPRISE__LICENSE_FILE": str(tmp_path / "difyd.lic"),
        "DIFYD_PLUGINS__SSO_ENTERPRISE__PUBLIC_KEY_FILE": str(tmp_path / "issuer.pub"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([difyd, *args], env=env, capture_output=True, text=True, timeout=60)

    made = run(
        "license",
        "keygen",
        "--private-key",
        str(tmp_path / "issuer.pem"),
        "--public-key",
        str(tmp_path / "issuer.pub"),
    )
    assert made.returncode == 0, made.stderr
    assert oct((tmp_path / "issuer.pem").stat().st_mode & 0o777) == "0o600"
    assert (
        run(
            "license",
            "keygen",
            "--private-key",
            str(tmp_path / "issuer.pem"),
            "--public-key",
            str(tmp_path / "x.pub"),
        ).returncode
        == 1
    )  # never overwrites a key

    before = json.loads(run("license", "status", "--json").stdout)
    assert before["status"] == "lost" and "cannot read" in before["problem"]

    issued = run(
        "license",
        "issue",
        "--private-key",
        str(tmp_path / "issuer.pem"),
        "--licensee",
        "Acme Corp",
        "--days",
        "365",
        "--feature",
        "sso",
        "--seats",
        "50",
        "--domain",
        "Acme.example",
        "--out",
        str(tmp_path / "difyd.lic"),
    )
    assert issued.returncode == 0, issued.stderr
    after = json.loads(run("license", "status", "--json").stdout)
    assert after["status"] == "active" and after["licensee"] == "Acme Corp"
    assert after["features"] == ["sso"] and after["seats"] == 50 and after["domains"] == ["acme.example"]
    assert run("license", "status").stdout.startswith("license: active (Acme Corp, until ")
