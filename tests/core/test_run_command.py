"""``difyd run --host/--port``: the address given on the command line is the server's own address, so the
links the embedded default builds from it (the /device link) point where it really listens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.testing.fixtures import SECRET
from tests.support.faults import free_port
from tests.support.probes import write_config

DIFYD = str(Path(sys.executable).with_name("difyd"))


@pytest.mark.slow
def test_port_given_on_the_command_line_is_the_one_links_use(tmp_path: Path) -> None:
    """`difyd run --port P` on the embedded default answers on P, and verification_uri names P."""
    config = write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
        [log]
        level = "WARNING"
    """)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIFYD_")}
    server = subprocess.Popen([DIFYD, "--config", str(config), "run", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/openapi/v1/oauth/device/code",
                    json={"client_id": "difyctl", "device_label": "cli test"},
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert response.json()["verification_uri"] == f"http://127.0.0.1:{port}/device"
    finally:
        server.terminate()
        server.wait(10)


def test_several_workers_on_the_embedded_default_are_refused(tmp_path: Path) -> None:
    """Each process would keep its own device codes and jobs: a code issued by one is unknown to the
    next, so device logins would fail at random. Refused before anything starts, with the reason."""
    from click.testing import CliRunner

    from core.cli import cli

    config = write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
    """)
    result = CliRunner().invoke(cli, ["--config", str(config), "run", "--workers", "2"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: --workers 2 needs state shared between processes:")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").glob("*.sqlite3"))


def test_a_port_in_use_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    """5001 is also Dify API's default: a taken port is said before anything starts, with the flag and
    the variable to choose another (it was a traceback after "serving on ...")."""
    import socket

    from click.testing import CliRunner

    from core.cli import cli

    config = write_config(tmp_path / "difyd.toml", f"""
        data_dir = "{tmp_path / 'data'}"
        secret_key = "{SECRET}"
    """)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["--config", str(config), "run", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use; is another server using it? "
        f"choose another port: --port {port + 1} or DIFYD_SERVER__PORT={port + 1}\n"
    )
