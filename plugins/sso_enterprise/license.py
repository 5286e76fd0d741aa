"""The enterprise license: a small signed document, and its status.

A license is a JWT signed with Ed25519 (``alg: EdDSA``): ``sub`` the licensee, ``iat`` and ``exp``
(issued and expiry, epoch seconds), and optionally ``features`` (a list of names), ``seats`` (a
number) and ``domains`` (email domains). Whoever holds the private key issues licenses
(``difyd license issue``); the server holds only the public key.

Status (``core.license.LicenseStatus``):

- ``none``: no license configured;
- ``lost``: configured but unreadable, malformed, signed with another key, or missing a claim;
- ``expired``: past ``exp``;
- ``expiring``: within ``expiring_days`` of ``exp`` (still admitted);
- ``active``: otherwise.

The core asks at most once per few seconds per process and admits licensed routes only while the
status is ``active`` or ``expiring``; the file is read on every ask, so expiry passing and a new
license file both take effect without a restart, on every replica that reads the file.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.api import LicenseStatus
from plugins.sso_enterprise.settings import SsoEnterpriseSettings

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ("sub", "iat", "exp")


@dataclass(frozen=True)
class License:
    licensee: str
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    features: tuple[str, ...] = ()
    seats: int | None = None
    domains: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Reading:
    """What the configured license says now: its status, the license when it could be read, and why
    not when it could not."""

    status: LicenseStatus
    license: License | None = None
    problem: str = ""


# -- keys and issuing (the issuer's side) -----------------------------------------------------------


def new_key_pair() -> tuple[str, str]:
    """A fresh Ed25519 key pair as PEM: (private, public)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def issue(
    private_pem: str,
    licensee: str,
    expires_at: datetime.datetime,
    *,
    issued_at: datetime.datetime | None = None,
    features: list[str] | None = None,
    seats: int | None = None,
    domains: list[str] | None = None,
) -> str:
    """A license document signed with ``private_pem``."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the issuing key must be an Ed25519 private key")
    claims: dict[str, Any] = {
        "sub": licensee,
        "iat": int((issued_at or datetime.datetime.now(datetime.UTC)).timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    if features:
        claims["features"] = sorted(set(features))
    if seats is not None:
        claims["seats"] = seats
    if domains:
        claims["domains"] = sorted({domain.lower() for domain in domains})
    return jwt.encode(claims, key, algorithm=ALGORITHM)


# -- reading (the server's side) ---------------------------------------------------------------------


def public_key_of(settings: SsoEnterpriseSettings) -> Ed25519PublicKey | None:
    pem = settings.public_key or (
        Path(settings.public_key_file).read_text() if settings.public_key_file else ""
    )
    if not pem:
        return None
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the license public key is not an Ed25519 key")
    return key


def document_of(settings: SsoEnterpriseSettings) -> str:
    if settings.license_file:
        return Path(settings.license_file).read_text().strip()
    return settings.license.strip()


def read_license(settings: SsoEnterpriseSettings, now: datetime.datetime | None = None) -> Reading:
    """The configured license's status now. Never raises: whatever goes wrong is ``lost``, with why."""
    if not (settings.license or settings.license_file):
        return Reading("none")
    try:
        document = document_of(settings)
        key = public_key_of(settings)
    except (OSError, ValueError) as exc:
        return Reading("lost", problem=f"cannot read the license or its key: {type(exc).__name__}")
    if not document:
        return Reading("lost", problem="the license is empty")
    if key is None:
        return Reading("lost", problem="no public key is configured to check the license with")
    try:
        claims = jwt.decode(
            document,
            key,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "require": list(REQUIRED_CLAIMS)},
        )
    except jwt.InvalidSignatureError:
        return Reading("lost", problem="the license is not signed with the configured key")
    except jwt.PyJWTError as exc:
        return Reading("lost", problem=f"the license is malformed ({type(exc).__name__})")
    try:
        found = License(
            licensee=str(claims["sub"]),
            issued_at=datetime.datetime.fromtimestamp(int(claims["iat"]), datetime.UTC),
            expires_at=datetime.datetime.fromtimestamp(int(claims["exp"]), datetime.UTC),
            features=tuple(str(name) for name in claims.get("features", ())),
            seats=int(claims["seats"]) if claims.get("seats") is not None else None,
            domains=tuple(str(domain) for domain in claims.get("domains", ())),
        )
    except (TypeError, ValueError, OverflowError):
        return Reading("lost", problem="the license's claims are malformed")
    now = now or datetime.datetime.now(datetime.UTC)
    if now >= found.expires_at:
        return Reading("expired", found)
    if found.expires_at - now <= datetime.timedelta(days=settings.expiring_days):
        return Reading("expiring", found)
    return Reading("active", found)
