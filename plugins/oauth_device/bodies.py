"""The declared request and response bodies of the device-flow routes.

Litestar validates requests against these Structs and /schema documents them from the same
declarations. Bodies are JSON as difyctl sends them, or forms as RFC 8628/7009 clients do
(``core.http.request.accepts_form``); unknown fields are ignored, as Dify does.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

import msgspec

from plugins.oauth_device.codes import MAX_USER_CODE_INPUT

MAX_LABEL_LENGTH = 255
# Issued device codes are 35 characters; anything much longer was never one.
MAX_DEVICE_CODE_INPUT = 256
MAX_CLIENT_ID = 64

ClientId = Annotated[str, msgspec.Meta(max_length=MAX_CLIENT_ID, description="a client id, e.g. difyctl")]
UserCode = Annotated[
    str, msgspec.Meta(max_length=MAX_USER_CODE_INPUT, description="XXXX-XXXX in any case, hyphen optional")
]


# What a label may not hold: the label is what the approver reads to decide, so nothing in it may
# hide, reorder or fake what it shows. Controls, format characters (zero-width, bidi marks and
# overrides, soft hyphen, BOM, tags), private-use, surrogates, line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
# Letters and symbols that render as nothing: a label must have something besides these and spaces.
_BLANK_LOOKALIKES = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})


def _ranges(points: set[int]) -> str:
    """``\\uXXXX-\\uYYYY`` runs for a character class (escapes both Python and JSON Schema read)."""
    runs: list[tuple[int, int]] = []
    for point in sorted(points):
        if runs and point == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], point)
        else:
            runs.append((point, point))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in runs)


def _label_pattern() -> str:
    """The rule for the basic plane as a pattern /schema publishes (built from the Unicode database;
    no lookahead: the schema's fuzzer generates from it, and a lookahead made that 20 times slower)."""
    plane = [chr(point) for point in range(0x10000)]
    forbidden = {ord(c) for c in plane if unicodedata.category(c) in _FORBIDDEN_CATEGORIES}
    blank = {ord(c) for c in plane if c.isspace() or unicodedata.category(c) == "Zs"} | _BLANK_LOOKALIKES
    char, visible = f"[^{_ranges(forbidden)}]", f"[^{_ranges(forbidden | blank)}]"
    return f"^{char}*{visible}{char}*$"


LABEL_PATTERN = _label_pattern()
LABEL_RULE = (
    "no control, format (invisible or bidirectional), private-use or separator character, and "
    "something besides spaces"
)


def _astral_problem(label: str) -> bool:
    """What the pattern cannot say portably: the same categories beyond the basic plane (tags...)."""
    return any(ord(c) > 0xFFFF and unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in label)


class DeviceCodeRequest(msgspec.Struct):
    client_id: ClientId
    device_label: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_LABEL_LENGTH,
            pattern=LABEL_PATTERN,
            description=f"what the /device page shows the approver ('difyctl on my-laptop'): {LABEL_RULE}",
        ),
    ]

    def __post_init__(self) -> None:
        if _astral_problem(self.device_label):
            raise ValueError(f"device_label: {LABEL_RULE}")


class DeviceAuthorization(msgspec.Struct):
    """RFC 8628 §3.2. ``verification_uri_complete`` only when the operator turns it on (the setting of
    that name): by default the person types the code (§5.4)."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int
    verification_uri_complete: str | msgspec.UnsetType = msgspec.UNSET


class PollRequest(msgspec.Struct):
    device_code: Annotated[str, msgspec.Meta(max_length=MAX_DEVICE_CODE_INPUT)]
    client_id: Annotated[str, msgspec.Meta(max_length=MAX_DEVICE_CODE_INPUT)]  # required, never checked


class Lookup(msgspec.Struct):
    """Spec §1.4's fields, then what the server itself knows about a pending request, so the /device
    page can show it beside the device's own description: when the code was asked for, from which
    address, and whether that is the address this lookup comes from (null unless the code is pending)."""

    valid: bool
    expires_in_remaining: int
    client_id: str | None
    device_label: str | None
    requested_at: str | None = None  # ISO 8601, UTC
    requested_from: str | None = None
    requested_from_this_address: bool | None = None


class UserCodeRequest(msgspec.Struct):
    user_code: UserCode


class Decision(msgspec.Struct):
    status: str  # "approved" or "denied"


class RevokeRequest(msgspec.Struct):
    """RFC 7009 §2.1."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    token_type_hint: Annotated[str, msgspec.Meta(max_length=64)] | None = None
