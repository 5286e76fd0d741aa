"""The declared request and response bodies of the device-flow routes.

Litestar validates requests against these Structs and /schema documents them from the same
declarations. Bodies are JSON as difyctl sends them, or forms as RFC 8628/7009 clients do
(``core.http.request.accepts_form``); unknown fields are ignored, as Dify does.
"""

from __future__ import annotations

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


# Something besides spaces, and no control or bidirectional-override character: the label is what the
# approver reads to decide, so it must not be able to hide or reorder what it shows. (No lookahead:
# the schema's fuzzer generates from this pattern, and a lookahead made that 20 times slower.)
_LABEL_CHAR = r"[^\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_LABEL_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
LABEL_PATTERN = f"^{_LABEL_CHAR}*{_LABEL_VISIBLE}{_LABEL_CHAR}*$"


class DeviceCodeRequest(msgspec.Struct):
    client_id: ClientId
    device_label: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_LABEL_LENGTH,
            pattern=LABEL_PATTERN,
            description="what the /device page shows the approver, e.g. 'difyctl on my-laptop'",
        ),
    ]


class DeviceAuthorization(msgspec.Struct):
    """RFC 8628 §3.2 (no verification_uri_complete: the person types the code, §5.4)."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int


class PollRequest(msgspec.Struct):
    device_code: Annotated[str, msgspec.Meta(max_length=MAX_DEVICE_CODE_INPUT)]
    client_id: Annotated[str, msgspec.Meta(max_length=MAX_DEVICE_CODE_INPUT)]  # required, never checked


class Lookup(msgspec.Struct):
    valid: bool
    expires_in_remaining: int
    client_id: str | None
    device_label: str | None


class UserCodeRequest(msgspec.Struct):
    user_code: UserCode


class Decision(msgspec.Struct):
    status: str  # "approved" or "denied"


class RevokeRequest(msgspec.Struct):
    """RFC 7009 §2.1."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    token_type_hint: Annotated[str, msgspec.Meta(max_length=64)] | None = None
