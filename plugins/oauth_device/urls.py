"""The addresses this plugin hands out, from configuration only (never the request's Host header)."""

from __future__ import annotations

from core.settings import Settings


def verification_base(settings: Settings) -> str:
    """Base of ``verification_uri``: the public web address, to which ``/device`` is appended."""
    return settings.public_web_url


def issuer(settings: Settings) -> str:
    """The RFC 8414 issuer and the base of the endpoints it advertises."""
    return settings.public_api_url
