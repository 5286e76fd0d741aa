"""Keys derived per purpose from SECRET_KEY, and sealing for values kept in a shared store.

Every use of the secret gets its own key (HKDF-SHA256 with the purpose as ``info``), so a value
sealed or signed for one purpose is worthless for any other, and no purpose ever sees the secret.

``Sealer`` encrypts and authenticates (AES-256-GCM) values that must sit in Redis without being
usable by whoever can read Redis (its snapshots, AOF files, replicas): a poll payload carrying a
token, for example. ``context`` binds a sealed value to where it belongs (a device code's hash), so
a sealed value copied to another key does not open.
"""

from __future__ import annotations

import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
_VERSION = b"\x01"


def derive_key(secret: str, purpose: str, length: int = KEY_BYTES) -> bytes:
    """A key for one purpose (``"oauth_device.poll_payload"``); the same inputs give the same key."""
    if not secret:
        raise ValueError("no secret key to derive from")
    return _derive(secret, purpose, length)


@lru_cache(maxsize=64)
def _derive(secret: str, purpose: str, length: int) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"difyd key derivation", info=purpose.encode())
    return hkdf.derive(secret.encode())


class SealError(Exception):
    """A sealed value that does not open: tampered with, sealed for another context, or another key."""


class Sealer:
    """AES-256-GCM with a random nonce; the output is ``version || nonce || ciphertext+tag``."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._aead = AESGCM(derive_key(secret, purpose))

    def seal(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, _VERSION + context)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SealError("not a sealed value")
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], _VERSION + context)
        except InvalidTag as exc:
            raise SealError("sealed value does not open") from exc
