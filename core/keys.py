"""Keys derived per purpose from SECRET_KEY: a signer for values handed out, a sealer for values kept.

Every use of the secret gets its own key (HKDF-SHA256 with the purpose as ``info``), so a value signed
or sealed for one purpose is worthless for any other, and no purpose ever sees the secret itself.
Plugins ask ``HostContext.signer(purpose)`` / ``HostContext.sealer(purpose)``; none hand-rolls HMAC.

Rotation: ``secret_key`` signs and seals; every key in ``previous_secret_keys`` still verifies and
opens. Keep a retired key there for as long as anything it signed or sealed may still be presented
(the longest-lived signed value of the deployment), then drop it.

- ``Signer``: HMAC-SHA256 over the value and its expiry, verified in constant time against every key.
  For what leaves the server and comes back: signed URLs, OAuth ``state``, short-lived grant cookies.
  The value is readable by whoever holds the token (signed, not encrypted).
- ``Sealer``: AES-256-GCM. For what must sit in a shared store (Redis, its snapshots and replicas)
  without being usable by whoever reads it. ``context`` binds a sealed value to where it belongs (a
  device code's hash), so a sealed value copied elsewhere does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Sequence
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
_SEAL_VERSION = b"\x01"
_SIGN_VERSION = "s1"


def derive_key(secret: str, purpose: str, length: int = KEY_BYTES) -> bytes:
    """A key for one purpose (``"oauth_device.poll_payload"``); the same inputs give the same key."""
    if not secret:
        raise ValueError("no secret key to derive from")
    if not purpose:
        raise ValueError("a derived key needs a purpose")
    return _derive(secret, purpose, length)


@lru_cache(maxsize=256)
def _derive(secret: str, purpose: str, length: int) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"difyd key derivation", info=purpose.encode())
    return hkdf.derive(secret.encode())


def _keys(secrets: Sequence[str], purpose: str) -> tuple[bytes, ...]:
    usable = [secret for secret in secrets if secret]
    if not usable:
        raise ValueError("no secret key to derive from")
    return tuple(derive_key(secret, purpose) for secret in usable)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadSignature(Exception):
    """A signed value that was tampered with, signed for another purpose, or with an unknown key."""


class SignatureExpired(BadSignature):
    """A genuine signed value past its expiry."""


class Signer:
    """``value.expiry.mac``, URL-safe: ``sign`` with the current key, ``verify`` against every key."""

    def __init__(self, secrets: Sequence[str], purpose: str) -> None:
        self._keys = _keys(secrets, purpose)

    def sign(self, value: bytes | str, *, expires_in: float, now: float | None = None) -> str:
        raw = value.encode() if isinstance(value, str) else value
        expiry = int((time.time() if now is None else now) + expires_in)
        body = f"{_SIGN_VERSION}.{_b64(raw)}.{expiry}"
        return f"{body}.{_b64(self._mac(self._keys[0], body))}"

    def verify(self, token: str, *, now: float | None = None) -> bytes:
        """The signed value; raises ``SignatureExpired`` past its expiry, ``BadSignature`` otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _SIGN_VERSION:
            raise BadSignature("not a signed value")
        body = ".".join(parts[:3])
        try:
            mac = _unb64(parts[3])
        except (binascii.Error, ValueError) as exc:
            raise BadSignature("not a signed value") from exc
        # Every key is tried, and every comparison runs in constant time.
        genuine = False
        for key in self._keys:
            genuine |= hmac.compare_digest(self._mac(key, body), mac)
        if not genuine:
            raise BadSignature("signature does not match")
        if not parts[2].isdigit():
            raise BadSignature("malformed expiry")
        if int(parts[2]) <= (time.time() if now is None else now):
            raise SignatureExpired("signed value has expired")
        return _unb64(parts[1])

    @staticmethod
    def _mac(key: bytes, body: str) -> bytes:
        return hmac.new(key, body.encode(), hashlib.sha256).digest()


class SealError(Exception):
    """A sealed value that does not open: tampered with, sealed for another context, or another key."""


class Sealer:
    """AES-256-GCM with a random nonce; the output is ``version || nonce || ciphertext+tag``."""

    def __init__(self, secrets: Sequence[str] | str, purpose: str) -> None:
        keys = _keys([secrets] if isinstance(secrets, str) else secrets, purpose)
        self._aeads = tuple(AESGCM(key) for key in keys)

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return _SEAL_VERSION + nonce + self._aeads[0].encrypt(nonce, plaintext, _SEAL_VERSION + context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _SEAL_VERSION:
            raise SealError("not a sealed value")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, ciphertext, _SEAL_VERSION + context)
            except InvalidTag:
                continue
        raise SealError("sealed value does not open")
