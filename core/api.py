"""The plugin API: everything a plugin may use from the core, in one module.

``from core.api import ...`` is the supported way for a plugin (built-in or third-party) to reach the
core; docs/plugins.md shows each name with its signature and an example, and tests/test_plugin_api.py
keeps every documented name importable. Anything a plugin imports from elsewhere in ``core`` is
private: it may change in any release without notice.
"""

from __future__ import annotations

from core.admin.runner import run_with_host
from core.audit import AuditEvent
from core.auth.bearer import BearerAuthenticator
from core.auth.console import ConsoleUser, console_session_guard, console_user
from core.auth.guards import (
    account_guard,
    bearer_guard,
    current_subject,
    require_membership,
    require_role,
    requires_scope,
)
from core.auth.subject import ACCOUNT, EXTERNAL_SSO, SCOPE_FULL, Subject, TokenRecord
from core.context import HostContext
from core.db.base import UUIDv7AuditBase, UUIDv7Base
from core.db.requests import RequestSession, request_session
from core.domain.ids import parse_uuid
from core.domain.reads import AppOfSubject, AppRecord, app_of_subject, role_in, workspaces_of
from core.hookspecs import hookimpl
from core.http.errors import ApiError, ErrorBody, ErrorDetail, validation_as_bad_request
from core.http.headers import HeaderPolicy
from core.http.pagination import MAX_PAGE_LIMIT, Page, PageNumber, PageSize, offset_of
from core.http.request import accepts_form, json_only
from core.http.responses import BEARER_GUARDED, error_responses
from core.jobs.queue import CronJob, JobFunction, host_of
from core.keys import BadSignature, Sealer, SignatureExpired, Signer
from core.license import LicenseStatus, requires_license
from core.services import (
    ApprovalOutcome,
    DeviceApprovalError,
    DeviceApprovals,
    ExternalApprovalContext,
    ExternalSignIn,
    ExternalSignInRoutes,
    PendingDeviceCode,
)

__all__ = [
    "ACCOUNT",
    "BEARER_GUARDED",
    "EXTERNAL_SSO",
    "MAX_PAGE_LIMIT",
    "SCOPE_FULL",
    "ApiError",
    "AppOfSubject",
    "AppRecord",
    "ApprovalOutcome",
    "AuditEvent",
    "BadSignature",
    "BearerAuthenticator",
    "ConsoleUser",
    "CronJob",
    "DeviceApprovalError",
    "DeviceApprovals",
    "ErrorBody",
    "ErrorDetail",
    "ExternalApprovalContext",
    "ExternalSignIn",
    "ExternalSignInRoutes",
    "HeaderPolicy",
    "HostContext",
    "JobFunction",
    "LicenseStatus",
    "Page",
    "PageNumber",
    "PageSize",
    "PendingDeviceCode",
    "RequestSession",
    "Sealer",
    "SignatureExpired",
    "Signer",
    "Subject",
    "TokenRecord",
    "UUIDv7AuditBase",
    "UUIDv7Base",
    "accepts_form",
    "account_guard",
    "app_of_subject",
    "bearer_guard",
    "console_session_guard",
    "console_user",
    "current_subject",
    "error_responses",
    "hookimpl",
    "host_of",
    "json_only",
    "offset_of",
    "parse_uuid",
    "request_session",
    "require_membership",
    "require_role",
    "requires_license",
    "requires_scope",
    "role_in",
    "run_with_host",
    "validation_as_bad_request",
    "workspaces_of",
]
