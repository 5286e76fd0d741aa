"""Lenient request bodies, as Dify reads them: JSON (or a form), anything else counts as ``{}``.

The handlers read the body themselves so that rate limits run before validation (§1.2 step 1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request

from core.http.errors import ApiError

MAX_LABEL_LENGTH = 255


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            form = parse_qs(raw.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {key: values[-1] for key, values in form.items()}
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def required_str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ApiError(400, f"{name} is required and must be a string", code="bad_request")
    return value
