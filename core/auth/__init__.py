"""Authentication: console sessions (cookies + CSRF), the bearer pipeline, subjects, scopes, guards."""

from core.auth.bearer import BearerAuthenticator, BearerPipeline, hash_token
from core.auth.guards import bearer_guard, current_subject, require_membership, requires_scope
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, Subject, TokenRecord

__all__ = [
    "ACCOUNT",
    "EXTERNAL_SSO",
    "BearerAuthenticator",
    "BearerPipeline",
    "Subject",
    "TokenRecord",
    "bearer_guard",
    "current_subject",
    "hash_token",
    "require_membership",
    "requires_scope",
]
