"""The random strings of the flow: device codes, user codes and tokens, and user-code normalisation."""

from __future__ import annotations

import base64
import secrets
import unicodedata

# Letters without I, O and Z, digits 3-9: nothing a person can misread as another character.
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXY3456789"
USER_CODE_GROUP = 4
ACCOUNT_PREFIX = "dfoa_"
EXTERNAL_PREFIX = "dfoe_"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_device_code() -> str:
    """``dc_`` + 24 CSPRNG bytes (192 bits), base64url without padding."""
    return "dc_" + _b64url(secrets.token_bytes(24))


# Bytes below this map onto the alphabet without bias (240 = 8 * 30); the rest are drawn again.
_UNBIASED_BELOW = 256 - 256 % len(USER_CODE_ALPHABET)


def new_user_code() -> str:
    """``XXXX-XXXX`` from the 30-character alphabet (about 39 bits), uniform over every character.

    One CSPRNG read per code (``secrets.choice`` reads the OS once per character).
    """
    size = USER_CODE_GROUP * 2
    chars: list[str] = []
    while len(chars) < size:
        chars.extend(
            USER_CODE_ALPHABET[byte % len(USER_CODE_ALPHABET)]
            for byte in secrets.token_bytes(size + 4)
            if byte < _UNBIASED_BELOW
        )
    return "".join(chars[:USER_CODE_GROUP]) + "-" + "".join(chars[USER_CODE_GROUP:size])


def new_token(prefix: str) -> str:
    """Prefix + 32 CSPRNG bytes (256 bits) as 43 base64url characters."""
    return prefix + _b64url(secrets.token_bytes(32))


# What a person may type between the characters of a code: whitespace, any dash (a hyphen, or the
# en dash a word processor turns it into), the underscore and the full stop.
USER_CODE_SEPARATORS = frozenset("_.")
# Longest input worth reading: a code with a separator or a space between every character, and some.
MAX_USER_CODE_INPUT = 64


def normalise_user_code(raw: str | None) -> str | None:
    """``XXXX-XXXX`` for what a person typed, or None when it cannot be a code.

    Case-insensitive, hyphen optional, whitespace and separators ignored (RFC 8628 §6.1). Any other
    character outside the alphabet means no match: ``4UPG-ZFN8E`` is not ``4UPG-FN8E`` with a typo
    ignored, and a long s (U+017F, which upper-cases to ``S``) is not an ``S``: only ASCII letters are
    upper-cased.
    """
    if not raw or len(raw) > MAX_USER_CODE_INPUT:
        return None
    kept: list[str] = []
    for ch in raw:
        if ch in USER_CODE_SEPARATORS or ch.isspace() or unicodedata.category(ch) == "Pd":
            continue
        upper = ch.upper() if ch.isascii() else ch
        if upper not in USER_CODE_ALPHABET:
            return None
        kept.append(upper)
    if len(kept) != USER_CODE_GROUP * 2:
        return None
    return "".join(kept[:USER_CODE_GROUP]) + "-" + "".join(kept[USER_CODE_GROUP:])
