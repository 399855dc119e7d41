"""Confirm Amazon Cognito users as an administrator: one, or a million, inside the quota.

The public API lives here; the implementation is in private modules named after what they hold,
each importing only those below it: ``_client`` (CognitoConfirmer), ``_bulk`` (the bulk engine),
``_triage`` (the input items not to send), ``_verdict`` (which failures stop a run),
``_confirm`` (one user), ``_retry`` (the one retry loop), ``_gate`` (a run's outage and stop
gate), ``_ratelimit`` (the pacer: its slots),
``_pace`` (the pace it learns from throttles), ``_quota``, ``_errors``, ``_answers`` (is an
answer from AWS?), ``_result``, ``_validation``.
``cognito_confirm.testing`` holds a fake Cognito endpoint for your own tests;
``cognito_confirm.cli`` the command line (the ``[cli]`` extra), which this package never
imports.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._bulk import ResultStream
from ._client import CognitoConfirmer
from ._errors import (
    AccessDeniedError,
    ClientStateError,
    ClockSkewError,
    CognitoConfirmError,
    CredentialsError,
    EndpointNotCognitoError,
    EndpointUnreachableError,
    InternalServerError,
    InvalidClientMetadataError,
    InvalidParameterError,
    InvalidUsernameError,
    InvalidUserPoolIdError,
    LambdaTriggerError,
    LimitExceededError,
    NotAuthorizedError,
    NotConfirmableError,
    OperationNotEnabledError,
    RepeatedFailureError,
    SetupError,
    ThrottledError,
    TooManyFailedAttemptsError,
    TransportError,
    TriggerFailingError,
    UserNotFoundError,
    UserPoolNotFoundError,
    error_class_for,
)
from ._ratelimit import AdaptiveRateLimiter
from ._result import BulkReport, ConfirmResult, Outcome
from ._retry import RetryPolicy
from ._triage import SkipCheck
from ._validation import check_user_pool_id, check_username, username_problem

try:
    __version__ = version("cognito-confirm")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "AccessDeniedError",
    "AdaptiveRateLimiter",
    "BulkReport",
    "ClientStateError",
    "ClockSkewError",
    "CognitoConfirmError",
    "CognitoConfirmer",
    "ConfirmResult",
    "CredentialsError",
    "EndpointNotCognitoError",
    "EndpointUnreachableError",
    "InternalServerError",
    "InvalidClientMetadataError",
    "InvalidParameterError",
    "InvalidUserPoolIdError",
    "InvalidUsernameError",
    "LambdaTriggerError",
    "LimitExceededError",
    "NotAuthorizedError",
    "NotConfirmableError",
    "OperationNotEnabledError",
    "Outcome",
    "RepeatedFailureError",
    "ResultStream",
    "RetryPolicy",
    "SetupError",
    "SkipCheck",
    "ThrottledError",
    "TooManyFailedAttemptsError",
    "TransportError",
    "TriggerFailingError",
    "UserNotFoundError",
    "UserPoolNotFoundError",
    "__version__",
    "check_user_pool_id",
    "check_username",
    "error_class_for",
    "username_problem",
]
