"""The console session: login cookies (Dify-compatible JWTs), CSRF on writes, logout, profile, features."""

from __future__ import annotations

import json
import time
import uuid

import jwt

from core.auth.console import PASSPORT_SUBJECT
from core.auth.passwords import hash_password, verify_password
from core.domain.models import AccountStatus
from core.testing import factories
from core.testing.fixtures import SECRET
from tests.auth.bearer_probe import running
from tests.support.audit import record_audit

LOGIN = "/console/api/login"
HTTPS = {
    "base_url": "https://testserver.local",
    "console_web_url": "https://console.example",
    "console_api_url": "https://api.example",
}


def set_cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the whole header line as the value)."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


async def login(run, email: str, password: str = factories.PASSWORD):
    return await run.client.post(LOGIN, json={"email": email, "password": password})


async def test_login_sets_passport_and_csrf_cookies(make_settings):
    """A good login sets access_token (passport JWT) and csrf_token (a JWT naming the account)."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "alice@example.com")
        response = await login(run, "Alice@Example.com")
        assert response.status_code == 200 and response.json() == {"result": "success"}
        cookies = set_cookies(response)
        assert set(cookies) == {"access_token", "csrf_token"}
        assert "HttpOnly" in cookies["access_token"] and "HttpOnly" not in cookies["csrf_token"]
        assert all("Path=/" in line and "SameSite=lax" in line for line in cookies.values())
        assert all("Secure" not in line for line in cookies.values())
        passport = jwt.decode(run.client.cookies["access_token"], SECRET, algorithms=["HS256"])
        assert passport["user_id"] == alice.id and passport["sub"] == PASSPORT_SUBJECT
        assert passport["iss"] == "SELF_HOSTED" and passport["exp"] > time.time()
        assert "token_source" not in passport
        csrf = jwt.decode(run.client.cookies["csrf_token"], SECRET, algorithms=["HS256"])
        assert csrf["sub"] == alice.id and csrf["exp"] > time.time()


async def test_https_deployment_uses_host_prefixed_secure_cookies(make_settings):
    """With https console URLs the cookies are __Host- prefixed and Secure, and still work."""
    async with running(make_settings, **HTTPS) as run:
        await factories.person(run.ctx, "alice@example.com")
        response = await login(run, "alice@example.com")
        cookies = set_cookies(response)
        assert set(cookies) == {"__Host-access_token", "__Host-csrf_token"}
        for line in cookies.values():
            assert "Secure" in line and "Path=/" in line and "Domain" not in line
        assert (await run.client.get("/console/api/account/profile")).status_code == 200


async def test_https_deployment_ignores_unprefixed_cookies(make_settings):
    """Over https only the __Host- cookie counts: a plain access_token (a subdomain's) is no session."""
    async with running(make_settings, **HTTPS) as run:
        alice = await factories.person(run.ctx, "alice@example.com")
        passport = dify_passport(alice.id)
        response = await run.client.get("/console/api/account/profile", cookies={"access_token": passport})
        assert response.status_code == 401


async def test_wrong_password_and_unknown_email_answer_alike(make_settings):
    """Wrong password and unknown email give the same status and body, and both pay for an argon2 check."""
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        stored = hash_password("x")
        one_verify = min(_timed(lambda: verify_password(stored, "not x")) for _ in range(3))
        started = time.perf_counter()
        wrong = await login(run, "alice@example.com", "not the password")
        wrong_time = time.perf_counter() - started
        started = time.perf_counter()
        unknown = await login(run, "nobody@example.com", "not the password")
        unknown_time = time.perf_counter() - started
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json() == {
            "code": "invalid_credentials", "message": "Invalid email or password.", "status": 401,
        }
        assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers
        assert wrong_time >= one_verify * 0.5 and unknown_time >= one_verify * 0.5


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


async def test_banned_and_pending_accounts_cannot_sign_in(make_settings):
    """A banned account gets 401 Account is banned.; a pending one 400 account_not_initialized."""
    async with running(make_settings) as run:
        await factories.person(run.ctx, "banned@example.com", status=AccountStatus.BANNED.value)
        await factories.person(run.ctx, "pending@example.com", status=AccountStatus.PENDING.value)
        banned = await login(run, "banned@example.com")
        assert banned.status_code == 401
        assert banned.json() == {"code": "unauthorized", "message": "Account is banned.", "status": 401}
        pending = await login(run, "pending@example.com")
        assert pending.status_code == 400 and pending.json()["code"] == "account_not_initialized"
        # A banned account with the wrong password learns nothing about its state.
        assert (await login(run, "banned@example.com", "wrong")).json()["code"] == "invalid_credentials"


async def test_existing_session_of_banned_or_pending_account_is_refused(make_settings):
    """A valid passport for an account banned (401) or pending (400) since does not open the profile."""
    async with running(make_settings) as run:
        banned = await factories.person(run.ctx, "banned@example.com", status=AccountStatus.BANNED.value)
        pending = await factories.person(run.ctx, "pending@example.com", status=AccountStatus.PENDING.value)
        response = await run.client.get("/console/api/account/profile", cookies=session_of(banned.id))
        assert response.status_code == 401 and response.json()["message"] == "Account is banned."
        response = await run.client.get("/console/api/account/profile", cookies=session_of(pending.id))
        assert response.status_code == 400 and response.json()["code"] == "account_not_initialized"


async def test_profile_needs_a_session(make_settings):
    """Without cookies the profile answers 401; after login it describes the account."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "alice@example.com", "Alice")
        response = await run.client.get("/console/api/account/profile")
        assert response.status_code == 401 and response.json()["code"] == "unauthorized"
        await login(run, "alice@example.com")
        profile = (await run.client.get("/console/api/account/profile")).json()
        assert profile["id"] == alice.id and profile["email"] == "alice@example.com"
        assert profile["name"] == "Alice" and profile["status"] == "active"


def dify_passport(account_id: str, secret: str = SECRET, **claims) -> str:
    """A passport as Dify mints it: same key, same claims."""
    exp = int(time.time()) + 600
    body = {"user_id": account_id, "exp": exp, "iss": "SELF_HOSTED", "sub": PASSPORT_SUBJECT}
    return jwt.encode({**body, **claims}, secret, algorithm="HS256")


def dify_csrf(account_id: str, secret: str = SECRET, exp_in: int = 600) -> str:
    return jwt.encode({"sub": account_id, "exp": int(time.time()) + exp_in}, secret, algorithm="HS256")


def session_of(account_id: str) -> dict[str, str]:
    return {"access_token": dify_passport(account_id), "csrf_token": dify_csrf(account_id)}


async def test_passport_minted_by_dify_is_accepted_and_forgeries_are_not(make_settings):
    """A passport signed with SECRET_KEY works; another key, subject, or a token_source claim do not."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "alice@example.com")
        profile = "/console/api/account/profile"
        good = await run.client.get(profile, cookies={"access_token": dify_passport(alice.id)})
        assert good.status_code == 200
        for bad in (
            dify_passport(alice.id, secret="another-secret-key-of-sufficient-length-0123"),
            dify_passport(alice.id, sub="something else"),
            dify_passport(alice.id, token_source="refresh"),
            dify_passport(alice.id, exp=int(time.time()) - 10),
            dify_passport(str(uuid.uuid4())),
            dify_csrf(alice.id),
        ):
            response = await run.client.get(profile, cookies={"access_token": bad})
            assert response.status_code == 401, bad


async def test_writes_need_the_csrf_header(make_settings):
    """A cookie-authenticated POST needs X-CSRF-Token equal to the cookie, a live JWT for the account."""
    async with running(make_settings) as run:
        alice = await factories.person(run.ctx, "alice@example.com")
        bob = await factories.person(run.ctx, "bob@example.com", "Bob")
        await factories.workspace(run.ctx, "Acme", (alice, "owner"))
        await login(run, "alice@example.com")
        path = "/console/api/workspaces/current"
        csrf = run.client.cookies["csrf_token"]
        refused = {"code": "unauthorized", "message": "CSRF token is missing or invalid.", "status": 401}
        for headers in ({}, {"X-CSRF-Token": ""}, {"X-CSRF-Token": csrf + "x"}, {"X-CSRF-Token": "junk"}):
            response = await run.client.post(path, headers=headers)
            assert response.status_code == 401 and response.json() == refused, headers
        response = await run.client.post(path, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200 and response.json()["name"] == "Acme"
        # Header equal to the cookie is not enough: the value must be a live JWT for this account.
        passport = run.client.cookies["access_token"]
        forgeries = (dify_csrf(bob.id), dify_csrf(alice.id, exp_in=-10), dify_csrf(alice.id, secret="x" * 40))
        for forged in forgeries:
            run.client.cookies.clear()
            cookies = {"access_token": passport, "csrf_token": forged}
            response = await run.client.post(path, headers={"X-CSRF-Token": forged}, cookies=cookies)
            assert response.status_code == 401 and response.json() == refused
        # Reads need no CSRF header.
        response = await run.client.get("/console/api/account/profile", cookies={"access_token": passport})
        assert response.status_code == 200


async def test_logout_clears_the_cookies(make_settings):
    """Logout answers success and expires both cookies with the attributes they were set with."""
    async with running(make_settings, **HTTPS) as run:
        await factories.person(run.ctx, "alice@example.com")
        await login(run, "alice@example.com")
        csrf = run.client.cookies["__Host-csrf_token"]
        response = await run.client.post("/console/api/logout", headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200 and response.json() == {"result": "success"}
        cookies = set_cookies(response)
        assert set(cookies) == {"__Host-access_token", "__Host-csrf_token"}
        assert all("Max-Age=0" in line and "Secure" in line and "Path=/" in line for line in cookies.values())
        assert (await run.client.get("/console/api/account/profile")).status_code == 401


async def test_login_is_rate_limited_per_ip(make_settings):
    """Past the per-IP limit, login answers 429 ErrorBody with Retry-After, even for other emails."""
    async with running(make_settings, **{"console.login_limit_per_ip": 3}) as run:
        for index in range(3):
            assert (await login(run, f"nobody{index}@example.com", "x")).status_code == 401
        response = await login(run, "somebody@example.com", "x")
        assert response.status_code == 429
        assert response.json()["code"] == "too_many_requests" and int(response.headers["retry-after"]) >= 1


async def test_login_is_rate_limited_per_account(make_settings):
    """Past the per-account limit, that email answers 429 (whatever its case) while other emails go on."""
    async with running(make_settings, **{"console.login_limit_per_account": 2}) as run:
        await factories.person(run.ctx, "alice@example.com")
        assert (await login(run, "alice@example.com", "wrong")).status_code == 401
        assert (await login(run, "ALICE@example.com", "wrong")).status_code == 401
        response = await login(run, "alice@example.com")
        assert response.status_code == 429 and "retry-after" in response.headers
        assert (await login(run, "bob@example.com", "wrong")).status_code == 401


async def test_login_refuses_a_body_that_is_not_json(make_settings):
    """Login reads application/json only: a cross-site form (text/plain, form-encoded, multipart: the
    bodies a form sends without a CORS preflight) answers 415 and signs nobody in (login CSRF)."""
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        body = json.dumps({"email": "alice@example.com", "password": factories.PASSWORD})
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"):
            response = await run.client.post(LOGIN, content=body, headers={"Content-Type": content_type})
            assert response.status_code == 415, content_type
            assert response.json()["code"] == "unsupported_media_type"
            assert "set-cookie" not in response.headers
        assert (await login(run, "alice@example.com")).status_code == 200


async def test_logout_needs_the_csrf_header_while_signed_in(make_settings):
    """Signed in, logout without X-CSRF-Token (or with the wrong one) answers 401 and the session
    stays: another site cannot sign a visitor out. Without a session there is nothing to protect."""
    async with running(make_settings) as run:
        await factories.person(run.ctx, "alice@example.com")
        await login(run, "alice@example.com")
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            response = await run.client.post("/console/api/logout", headers=headers)
            assert response.status_code == 401 and response.json()["code"] == "unauthorized"
            assert "set-cookie" not in response.headers
        assert (await run.client.get("/console/api/account/profile")).status_code == 200
        run.client.cookies.clear()
        assert (await run.client.post("/console/api/logout")).status_code == 200


async def test_failed_logins_are_audited(make_settings):
    """Each refused sign-in is an audit event with its reason and IP (never the password)."""
    async with running(make_settings) as run:
        recorder = record_audit(run.ctx)
        alice = await factories.person(run.ctx, "alice@example.com")
        await login(run, "alice@example.com", "wrong password")
        await login(run, "nobody@example.com", "whatever")
        events = recorder.named("console.login_failed")
        assert events == [
            {"reason": "rejected", "ip": "127.0.0.1", "account_id": alice.id},
            {"reason": "rejected", "ip": "127.0.0.1", "account_id": None},
        ]
        assert "wrong password" not in str(recorder.events)


async def test_login_body_is_validated(make_settings):
    """A login without a password answers 422 invalid_param naming the field."""
    async with running(make_settings) as run:
        response = await run.client.post(LOGIN, json={"email": "alice@example.com"})
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "invalid_param"
        assert body["details"] == [
            {"loc": ["password"], "type": "missing", "msg": "Object missing required field `password`"}
        ]


async def test_hook_system_features(make_settings):
    """system-features merges what plugins contribute into the host's defaults, without a session."""
    async with running(make_settings) as run:
        response = await run.client.get("/console/api/system-features")
        assert response.status_code == 200
        features = response.json()
        assert features["probe"] == {"enabled": True}
        # Nested dicts merge key by key: the host's own keys survive next to the plugin's.
        assert features["license"] == {"status": "none", "seats": 5}
        assert features["enable_oauth_bearer"] is True
        assert "webapp_auth" not in features  # single sign-on is an enterprise plugin's to report


async def test_password_checks_queue_boundedly():
    """Password checks run on one thread; past MAX_WAITING_VERIFICATIONS waiting at once, a check is
    refused at once (HashingBusy, a 503 for the sign-in) rather than queued for seconds."""
    import asyncio

    from core.auth.passwords import MAX_WAITING_VERIFICATIONS, HashingBusy, verify_password_off_loop

    stored = hash_password("secret")
    results = await asyncio.gather(
        *(verify_password_off_loop(stored, "secret") for _ in range(MAX_WAITING_VERIFICATIONS + 20)),
        return_exceptions=True,
    )
    assert results.count(True) == MAX_WAITING_VERIFICATIONS
    assert sum(isinstance(r, HashingBusy) for r in results) == 20
    assert await verify_password_off_loop(stored, "secret") is True  # the queue drained
