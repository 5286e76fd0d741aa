"""The core's signer and sealer: per-purpose keys, expiry, tampering, key rotation."""

from __future__ import annotations

import pytest

from core.keys import BadSignature, Sealer, SealError, SignatureExpired, Signer

OLD, NEW = "old-secret-" + "o" * 30, "new-secret-" + "n" * 30


def test_signed_value_verifies_until_it_expires():
    signer = Signer([NEW], "test.url")
    token = signer.sign("upload:42", expires_in=60, now=1000)
    assert signer.verify(token, now=1059) == b"upload:42"
    with pytest.raises(SignatureExpired):
        signer.verify(token, now=1060)


def test_any_change_to_a_signed_value_is_refused():
    """Value, expiry, MAC or version altered, another purpose's key, or garbage: BadSignature."""
    signer = Signer([NEW], "test.url")
    token = signer.sign(b"\x00binary\xff", expires_in=60, now=1000)
    version, value, expiry, mac = token.split(".")
    forged = [
        f"{version}.{value}A.{expiry}.{mac}",
        f"{version}.{value}.{int(expiry) + 3600}.{mac}",  # a later expiry
        f"{version}.{value}.{expiry}.{mac[:-2]}AA",
        f"s2.{value}.{expiry}.{mac}",
        f"{version}.{value}.{expiry}",
        "",
        "s1.a.b.c!",
        "s1.%%%.1.x",
    ]
    for bad in forged:
        with pytest.raises(BadSignature):
            signer.verify(bad, now=1000)
    with pytest.raises(BadSignature):
        Signer([NEW], "test.state").verify(token, now=1000)  # same secret, other purpose
    assert signer.verify(token, now=1000) == b"\x00binary\xff"


def test_rotation_verifies_old_signatures_and_signs_with_the_new_key():
    old_token = Signer([OLD], "test.url").sign("v", expires_in=60, now=0)
    rotated = Signer([NEW, OLD], "test.url")
    assert rotated.verify(old_token, now=1) == b"v"
    new_token = rotated.sign("v", expires_in=60, now=0)
    assert Signer([NEW], "test.url").verify(new_token, now=1) == b"v"
    with pytest.raises(BadSignature):
        Signer([OLD], "test.url").verify(new_token, now=1)
    with pytest.raises(BadSignature):  # the old key dropped: its signatures stop verifying
        Signer([NEW], "test.url").verify(old_token, now=1)


def test_sealed_values_open_only_in_their_context_and_across_rotation():
    sealed = Sealer([OLD], "test.payload").seal(b"secret", b"ctx")
    assert Sealer([NEW, OLD], "test.payload").open(sealed, b"ctx") == b"secret"
    for sealer, context in ((Sealer([NEW], "test.payload"), b"ctx"), (Sealer([OLD], "test.other"), b"ctx"),
                            (Sealer([OLD], "test.payload"), b"other")):
        with pytest.raises(SealError):
            sealer.open(sealed, context)
    assert Sealer([NEW, OLD], "test.payload").seal(b"x")[:1] == b"\x01"


def test_keys_need_a_secret_and_a_purpose():
    with pytest.raises(ValueError, match="secret"):
        Signer(["", ""], "test.url")
    with pytest.raises(ValueError, match="purpose"):
        Sealer([NEW], "")


async def test_host_context_hands_out_signers_keyed_by_purpose(make_settings):
    """ctx.signer/ctx.sealer use secret_key and previous_secret_keys; one object per purpose."""
    from core.app import build_context

    ctx = build_context(make_settings(previous_secret_keys=[OLD]))
    try:
        assert ctx.signer("a") is ctx.signer("a") and ctx.signer("a") is not ctx.signer("b")
        old_token = Signer([OLD], "a").sign("v", expires_in=60)
        assert ctx.signer("a").verify(old_token) == b"v"
    finally:
        await ctx.state.close()
        await ctx.engine.dispose()


async def test_console_cookies_of_a_retired_key_still_sign_in(make_settings):
    """A console session signed with the previous secret keeps working during the rotation, and stops
    once the old key is dropped."""
    from core.auth.console import issue_passport
    from core.testing import factories
    from tests.auth.bearer_probe import running

    old_settings = make_settings(secret_key=OLD)
    async with running(make_settings, secret_key=NEW, previous_secret_keys=[OLD]) as rotated:
        person = await factories.person(rotated.ctx, "rotate@example.com")
        passport = issue_passport(old_settings, person.account.id)
        rotated.client.cookies.set("access_token", passport)
        assert (await rotated.client.get("/console/api/account/profile")).status_code == 200
        fresh = issue_passport(rotated.ctx.settings, person.account.id)
        assert fresh != passport  # new sessions are signed with the new key
    async with running(make_settings, secret_key=NEW) as dropped:
        person = await factories.person(dropped.ctx, "rotate@example.com")
        dropped.client.cookies.set("access_token", issue_passport(old_settings, person.account.id))
        assert (await dropped.client.get("/console/api/account/profile")).status_code == 401
