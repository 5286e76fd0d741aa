"""Structured logs never carry a bearer token, a password or a cookie."""

from __future__ import annotations

import logging

import pytest
import structlog

from core.logging import REDACTED, configure_logging, redact_token_prefixes
from core.testing import factories
from tests.auth.bearer_probe import bearer, running


@pytest.fixture
def structured_logs(caplog):
    """Configure the project's logging (redaction included) and capture what it writes."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield caplog
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


async def test_logs_never_contain_secrets(make_settings, structured_logs):
    """Through a login, bearer requests, a wrong-surface refusal and a crash, no secret reaches the log."""
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        wrong = {"email": "alice@example.com", "password": "wrong-pw-1"}
        assert (await run.client.post("/console/api/login", json=wrong)).status_code == 401
        login = await run.client.post(
            "/console/api/login", json={"email": "alice@example.com", "password": factories.PASSWORD}
        )
        assert login.status_code == 200
        cookies = [run.client.cookies["access_token"], run.client.cookies["csrf_token"]]
        token = run.probe.mint("account")
        external = run.probe.mint("external_sso")
        assert (await run.client.get("/openapi/v1/probe/any", headers=bearer(token))).status_code == 200
        assert (await run.client.get("/openapi/v1/probe/apps", headers=bearer(external))).status_code == 403
        crash = await run.client.get("/openapi/v1/probe/careless", headers=bearer(token))
        assert crash.status_code == 500
    text = "\n".join(record.getMessage() for record in structured_logs.records)
    # The log did record the events (so the absence below means something) ...
    assert "probe_careless" in text and "unhandled_exception" in text and REDACTED in text
    # ... and none of the secrets.
    for secret in [token, token[5:], external, factories.PASSWORD, "wrong-pw-1", "hunter2", *cookies]:
        assert secret not in text


def test_redaction_processor_covers_nested_keys_and_free_text(structured_logs):
    """Sensitive keys are blanked at any depth, and token-shaped text is masked inside strings."""
    redact_token_prefixes(["dfoe_"])  # what building a host with the dfoe_ authenticator declares
    log = structlog.get_logger("difyd.test")
    log.warning(
        "event",
        Authorization="Bearer abc.def.ghi",
        headers={"cookie": "access_token=xyz", "accept": "json"},
        items=[{"password": "p4ss"}],
        message="retrying with dfoe_AAAAAAAAAAAAAAAAAAAA",
    )
    text = structured_logs.records[-1].getMessage()
    for secret in ["abc.def.ghi", "access_token=xyz", "p4ss", "AAAAAAAAAAAAAAAAAAAA"]:
        assert secret not in text
    assert "json" in text and "dfoe_" + REDACTED in text


def test_library_lines_take_the_configured_shape(capsys):
    """A library's record (uvicorn, saq) comes out as one JSON line in JSON mode, redacted like ours,
    its traceback inside the line: no plain-text lines in a JSON log."""
    import json

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO", json=True)
    try:
        logging.getLogger("saq").warning("job for %s", "Bearer dfoa_abcdefghijklmnop")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == f"job for Bearer {REDACTED}" and lines[0]["logger"] == "saq"
    assert lines[1]["level"] == "error" and "ValueError: boom" in lines[1]["exception"]
