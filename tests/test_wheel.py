"""The package as it ships: the wheel the Dockerfile builds, installed into a clean virtualenv, runs
from any folder without the checkout (no config/default.toml, nothing written inside site-packages),
and carries no test files."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.support.commands import run_checked
from tests.support.faults import free_port

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_built_wheel_runs_from_a_clean_virtualenv(tmp_path: Path):
    # Built from a copy of the checkout's files (what git tracks or would), as from a clean clone:
    # nothing stale from an earlier build, and the checkout is not written to.
    source = tmp_path / "src"
    listed = run_checked(
        "git", "ls-files", "-co", "--exclude-standard", cwd=REPO, env=dict(os.environ)
    ).splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    run_checked(*pip_wheel, "-w", str(dist), str(source), cwd=tmp_path, env=dict(os.environ))
    [wheel] = list(dist.glob("difyd-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tests = [n for n in names if "/tests/" in n or n.startswith("tests/")]
    assert not tests, f"test files in the wheel: {tests[:5]}"
    assert "core/scaffold/template/__tests_dir__/conftest.py.tmpl" in names  # the scaffold's templates
    assert "core/testing/fixtures.py" in names  # what plugin packages test with ships
    assert any(n.startswith("core/scaffold/template/") for n in names)
    assert any(n.startswith("plugins/oauth_device/templates/") for n in names)

    venv = tmp_path / "venv"
    run_checked(sys.executable, "-m", "venv", str(venv), cwd=tmp_path, env=dict(os.environ))
    bin_dir = venv / "bin"
    run_checked(
        str(bin_dir / "pip"), "install", "-q", "--no-deps", str(wheel), cwd=tmp_path, env=dict(os.environ)
    )
    # The dependencies come from this test's environment through PYTHONPATH, which (unlike a site
    # folder) does not run .pth files: the editable checkout stays out, difyd comes from the wheel.
    workdir = tmp_path / "somewhere"
    workdir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DIFYD_") and key != "SECRET_KEY"
    }
    env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
    difyd = str(bin_dir / "difyd")
    where = run_checked(
        str(bin_dir / "python"), "-c", "import core; print(core.__file__)", cwd=workdir, env=env
    )
    assert str(venv) in where, where

    assert run_checked(difyd, "--version", cwd=workdir, env=env).startswith("difyd ")
    assert "applied" in run_checked(difyd, "database", "upgrade", cwd=workdir, env=env)
    assert (workdir / ".data" / "difyd.sqlite3").is_file()  # the working directory, not site-packages

    port = free_port()
    server = subprocess.Popen(
        [difyd, "run", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the installed server did not answer /healthz within 30 s"
            time.sleep(0.2)
        probe_env = {**env, "DIFYD_SERVER__PORT": str(port)}
        assert "ok" in run_checked(difyd, "health", cwd=workdir, env=probe_env)
        device = httpx.get(f"http://127.0.0.1:{port}/device", timeout=5)
        assert device.status_code == 200 and "static/oauth_device/" in device.text
    finally:
        server.terminate()
        server.wait(timeout=15)
