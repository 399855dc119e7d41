"""The public names: exactly these, each importable, each documented where it lives."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import cognito_confirm
import cognito_confirm.cli
import cognito_confirm.testing

LIBRARY = [
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
TESTING = ["TARGET_PREFIX", "USER_STATUSES", "FakeCognito", "FakeConfig", "FakeStats", "main"]
CLI = ["main"]


@pytest.mark.parametrize(
    ("module", "names"),
    [(cognito_confirm, LIBRARY), (cognito_confirm.testing, TESTING), (cognito_confirm.cli, CLI)],
)
def test_all_is_exactly_the_public_api(module: ModuleType, names: list[str]) -> None:
    """__all__ lists these names and each is there: adding or dropping one is a decision."""
    assert module.__all__ == names
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", [cognito_confirm, cognito_confirm.testing])
def test_public_classes_and_functions_have_docstrings(module: ModuleType) -> None:
    """Every exported class and function says what it is (aliases are documented in source)."""
    for name in module.__all__:
        member = getattr(module, name)
        if inspect.isclass(member) or inspect.isfunction(member):
            assert (member.__doc__ or "").strip(), name
