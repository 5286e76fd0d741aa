"""The /device page end to end in headless Chromium against a real `difyd run` server process.

A difyctl-like client starts a device code over HTTP; a person types the code on the page the way
people do (lower case, no hyphen), sees which client and device asks, when and from where, then
signs in and approves or denies; the client's poll then receives a dfoa_ token or access_denied.
Screenshots go to the test's artefacts folder. UI test: the server runs on the embedded (SQLite) backend only.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PORT = 5141
LOCKOUT_PORT = 5142
EMAIL = "ada@example.com"
PASSWORD = "analytical engine 1843"
LABEL = "difyctl on e2e-laptop"
DEVICE_API = "/openapi/v1/oauth/device"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (CI: scripts/ensure-services.sh)",
    ),
]


def _difyd() -> list[str]:
    script = Path(sys.executable).with_name("difyd")
    return [str(script)] if script.exists() else [shutil.which("difyd") or "difyd"]


@dataclass
class Server:
    base: str
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [*_difyd(), "--config", str(self.config), *args], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


def _write_config(folder: Path, port: int) -> Path:
    config = folder / "difyd.toml"
    config.write_text(
        f'mode = "embedded"\n'
        f'data_dir = "{folder}"\n'
        f'secret_key = "{secrets.token_hex(32)}"\n'
        f'console_web_url = "http://127.0.0.1:{port}"\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{folder / "difyd.sqlite3"}"\n'
        f'[state]\nbackend = "memory"\n'
        f'[jobs]\nbackend = "inprocess"\n'
        f'[log]\nlevel = "WARNING"\n'
        f'[plugins]\nenabled = ["oauth_device"]\n'
    )
    return config


def _start_server(folder: Path, port: int) -> Server:
    """Migrate, seed one account in one workspace with the admin CLI, then serve on ``port``."""
    config = _write_config(folder, port)
    log = folder / "server.log"
    server = Server(f"http://127.0.0.1:{port}", config, log)
    server.cli("database", "upgrade")
    server.cli("accounts", "create", "--email", EMAIL, "--name", "Ada Lovelace", "--password", PASSWORD)
    server.cli("workspaces", "create", "--name", "Analytical Engines")
    server.cli("members", "add", "--workspace", "Analytical Engines", "--email", EMAIL, "--role", "owner")
    with log.open("wb") as out:
        process = server.process = subprocess.Popen(
            [*_difyd(), "--config", str(config), "run", "--port", str(port), "--no-migrate"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    _stop(server)
    raise AssertionError(f"server did not answer /healthz in time:\n{log.read_text()}")


def _stop(server: Server) -> None:
    if server.process is None:
        return
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = _start_server(tmp_path_factory.mktemp("device-browser"), PORT)
    yield running
    _stop(running)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, artifacts_dir: Path) -> AsyncIterator[Page]:
    """A fresh browser profile (no cookies) whose script errors fail the test."""
    context = await browser.new_context(viewport={"width": 1024, "height": 800})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    await tab.screenshot(path=str(artifacts_dir / "zz-last.png"), full_page=True)
    await context.close()
    assert not errors, f"script errors on the page: {errors}"


async def start_device_code(base: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            f"{DEVICE_API}/code",
            json={"client_id": "difyctl", "device_label": LABEL},
            headers={"User-Agent": "difyctl/0.1.0-rc.1 (linux; x64; rc)"},
        )
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["verification_uri"] == f"{base}/device"
    return grant


async def poll(base: str, device_code: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as http:
        body = {"device_code": device_code, "client_id": "difyctl"}
        return await http.post(f"{DEVICE_API}/token", json=body)


def view(tab: Page, name: str) -> Locator:
    return tab.locator(f'[data-view="{name}"]')


async def sign_in(tab: Page, shots: Path | None = None, password: str = PASSWORD) -> None:
    """From the confirmation a signed-out visitor sees: on to the sign-in form and through it."""
    if await view(tab, "confirm").is_visible():
        await tab.get_by_role("button", name="Sign in to approve or deny").click()
    await view(tab, "signin").wait_for(state="visible")
    await tab.get_by_label("Email").fill(EMAIL)
    await tab.get_by_label("Password").fill(password)
    if shots:
        await tab.screenshot(path=str(shots / "02-sign-in.png"), full_page=True)
    await tab.get_by_role("button", name="Sign in", exact=True).click()


async def enter_code(tab: Page, typed: str) -> None:
    field = tab.get_by_label("Code shown in your terminal")
    await field.fill("")
    await field.press_sequentially(typed)
    await tab.get_by_role("button", name="Continue").click()


def as_typed(user_code: str) -> str:
    """How people type a code: lower case, no hyphen."""
    return user_code.replace("-", "").lower()


async def test_check_the_request_then_sign_in_approve_and_poll_gets_token(
    server: Server, page: Page, artifacts_dir: Path
) -> None:
    """Type the code in lower case without hyphen, signed out: the page shows the client, the device's
    own words, when and from which address the code was requested, and asks to sign in only then.
    After sign-in, Approve: the CLI's poll receives a dfoa_ token."""
    grant = await start_device_code(server.base)
    await page.goto(grant["verification_uri"])
    await view(page, "code").wait_for(state="visible")
    assert await page.locator("#device .account").is_hidden()
    await enter_code(page, as_typed(grant["user_code"]))

    confirm = view(page, "confirm")
    await confirm.wait_for(state="visible")
    details = await confirm.locator("dl").inner_text()
    assert "difyctl" in details and LABEL in details and grant["user_code"] in details
    assert "less than a minute ago" in details
    assert "from 127.0.0.1 (this browser's address too)" in details
    assert EMAIL not in details  # nobody is signed in yet
    assert await page.get_by_role("button", name="Approve", exact=True).is_hidden()
    assert await page.locator('[data-bind="address-warning"]').is_hidden()
    await page.screenshot(path=str(artifacts_dir / "01-request-before-sign-in.png"), full_page=True)

    await page.get_by_role("button", name="Sign in to approve or deny").click()
    summary = page.locator('[data-bind="signin-request"]')
    await summary.wait_for(state="visible")
    assert LABEL in await summary.inner_text() and grant["user_code"] in await summary.inner_text()
    await sign_in(page, artifacts_dir)

    await confirm.wait_for(state="visible")
    assert EMAIL in await confirm.locator("dl").inner_text()
    await page.screenshot(path=str(artifacts_dir / "03-confirm.png"), full_page=True)
    await page.get_by_role("button", name="Approve", exact=True).click()
    await view(page, "approved").wait_for(state="visible")
    heading = page.get_by_role("heading", name="Device connected")
    assert await heading.evaluate("node => node === document.activeElement")  # focus follows the result
    assert "Device connected" in await page.locator("#status").inner_text()
    await page.screenshot(path=str(artifacts_dir / "04-approved.png"), full_page=True)

    response = await poll(server.base, grant["device_code"])
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["token"].startswith("dfoa_")
    assert payload["account"]["email"] == EMAIL
    assert [ws["name"] for ws in payload["workspaces"]] == ["Analytical Engines"]


async def test_not_mine_explains_and_approves_nothing(
    server: Server, page: Page, artifacts_dir: Path
) -> None:
    """A visitor who does not recognise the request leaves without signing in; the code stays pending
    (only an account can deny) and the CLI is still waiting."""
    grant = await start_device_code(server.base)
    await page.goto(f"{server.base}/device")
    await enter_code(page, grant["user_code"])
    await view(page, "confirm").wait_for(state="visible")
    await page.get_by_role("button", name="Not mine").click()
    await view(page, "not-mine").wait_for(state="visible")
    await page.screenshot(path=str(artifacts_dir / "01-not-mine.png"), full_page=True)
    response = await poll(server.base, grant["device_code"])
    assert response.json() == {"error": "authorization_pending"}


async def test_prefilled_link_is_scrubbed_and_deny_answers_access_denied(
    server: Server, page: Page, artifacts_dir: Path
) -> None:
    """?user_code= pre-fills the field and leaves the URL; Deny makes the CLI's poll answer access_denied."""
    grant = await start_device_code(server.base)
    await page.goto(f"{server.base}/device?user_code={as_typed(grant['user_code'])}")
    assert page.url == f"{server.base}/device"
    field = page.get_by_label("Code shown in your terminal")
    assert (await field.input_value()).upper().replace("-", "") == as_typed(grant["user_code"]).upper()
    await page.get_by_role("button", name="Continue").click()
    await view(page, "confirm").wait_for(state="visible")
    await sign_in(page)
    await page.get_by_role("button", name="Deny", exact=True).click()
    await view(page, "denied").wait_for(state="visible")
    await page.screenshot(path=str(artifacts_dir / "01-denied.png"), full_page=True)

    # The same code again, before the CLI collects the answer: the page says it was already used.
    await page.goto(f"{server.base}/device")
    await view(page, "code").wait_for(state="visible")
    assert EMAIL in await page.locator("#device .account").inner_text()  # still signed in
    await enter_code(page, grant["user_code"])
    await view(page, "error-used").wait_for(state="visible")
    await page.screenshot(path=str(artifacts_dir / "02-already-used.png"), full_page=True)

    response = await poll(server.base, grant["device_code"])
    assert response.status_code == 400
    assert response.json() == {"error": "access_denied"}


async def test_unknown_code_shows_the_error_view(server: Server, page: Page, artifacts_dir: Path) -> None:
    """A well-formed code nobody issued shows 'expired or not recognised'; a malformed one an inline
    error that says what is wrong: too short, or characters no code has (which are never ignored)."""
    await page.goto(f"{server.base}/device")

    await enter_code(page, "bcdf")
    error = page.locator("#user-code-error")
    await error.wait_for(state="visible")
    assert "8-character code" in await error.inner_text()
    assert await page.get_by_label("Code shown in your terminal").get_attribute("aria-invalid") == "true"
    await page.screenshot(path=str(artifacts_dir / "01-malformed.png"), full_page=True)

    for typed in ("4UPGZ-FN8E", "bcdf-ghj\u017f"):  # a Z; a long s, which upper-cases to S
        await enter_code(page, typed)
        await page.wait_for_function(
            "document.querySelector('#user-code-error').textContent.includes('characters no code has')"
        )
    await page.screenshot(path=str(artifacts_dir / "01b-foreign-characters.png"), full_page=True)

    await enter_code(page, "bcdf ghjk")
    await view(page, "error-invalid").wait_for(state="visible")
    await page.screenshot(path=str(artifacts_dir / "02-unknown.png"), full_page=True)

    await page.get_by_role("button", name="Enter a different code").click()
    await view(page, "code").wait_for(state="visible")


async def test_session_lost_before_approving_returns_to_sign_in(
    server: Server, page: Page, artifacts_dir: Path
) -> None:
    """If the console session is gone when Approve is pressed, the page asks to sign in again and then
    returns to the same request, without the code being typed again."""
    grant = await start_device_code(server.base)
    await page.goto(f"{server.base}/device")
    await enter_code(page, as_typed(grant["user_code"]))
    await view(page, "confirm").wait_for(state="visible")
    await sign_in(page)
    await page.get_by_role("button", name="Approve", exact=True).wait_for(state="visible")
    await page.context.clear_cookies()

    await page.get_by_role("button", name="Approve", exact=True).click()
    alert = page.locator("#signin-error")
    await alert.wait_for(state="visible")
    assert "Sign in again" in await alert.inner_text()
    await page.screenshot(path=str(artifacts_dir / "01-session-ended.png"), full_page=True)

    await sign_in(page)
    await view(page, "confirm").wait_for(state="visible")
    assert grant["user_code"] in await view(page, "confirm").locator("dl").inner_text()
    await page.get_by_role("button", name="Approve", exact=True).click()
    await view(page, "approved").wait_for(state="visible")
    response = await poll(server.base, grant["device_code"])
    assert response.json()["token"].startswith("dfoa_")


async def test_wrong_password_is_explained(server: Server, page: Page, artifacts_dir: Path) -> None:
    """A wrong password keeps the sign-in form with an alert, and never reaches Approve."""
    grant = await start_device_code(server.base)
    await page.goto(f"{server.base}/device")
    await enter_code(page, grant["user_code"])
    await view(page, "confirm").wait_for(state="visible")
    await sign_in(page, password="not the password")
    alert = page.locator("#signin-error")
    await alert.wait_for(state="visible")
    assert "Invalid email or password" in await alert.inner_text()
    assert await view(page, "confirm").is_hidden()
    await page.screenshot(path=str(artifacts_dir / "01-wrong-password.png"), full_page=True)


async def test_too_many_wrong_codes_show_the_lockout_view(
    tmp_path: Path, browser: Browser, artifacts_dir: Path
) -> None:
    """After repeated wrong codes the page shows 'too many attempts' (own server: the lockout is per IP)."""
    lockout = _start_server(tmp_path, LOCKOUT_PORT)
    context = await browser.new_context(viewport={"width": 1024, "height": 800})
    try:
        tab = await context.new_page()
        await tab.goto(f"{lockout.base}/device")
        for _ in range(20):
            await enter_code(tab, "bcdfghjk")
            outcome = tab.locator(
                '[data-view="error-invalid"]:not([hidden]), [data-view="error-rate-limited"]:not([hidden])'
            )
            await outcome.wait_for(state="visible")
            if await view(tab, "error-rate-limited").is_visible():
                break
            await tab.get_by_role("button", name="Enter a different code").click()
        await view(tab, "error-rate-limited").wait_for(state="visible")
        await tab.screenshot(path=str(artifacts_dir / "01-too-many-attempts.png"), full_page=True)
    finally:
        await context.close()
        _stop(lockout)
