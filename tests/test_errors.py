"""Every Cognito error code maps to a documented class; the fake reproduces what moto cannot."""

from __future__ import annotations

import botocore.session
import pytest

import cognito_confirm
from cognito_confirm import (
    AccessDeniedError,
    CognitoConfirmer,
    CognitoConfirmError,
    CredentialsError,
    InternalServerError,
    InvalidParameterError,
    LambdaTriggerError,
    LimitExceededError,
    NotAuthorizedError,
    NotConfirmableError,
    OperationNotEnabledError,
    Outcome,
    RetryPolicy,
    SetupError,
    ThrottledError,
    TooManyFailedAttemptsError,
    TransportError,
    UserNotFoundError,
    UserPoolNotFoundError,
    error_class_for,
)
from cognito_confirm._errors import translated, user_status_in
from cognito_confirm.testing import FakeCognito
from tests.helpers import first_call_at_once, share_built_once


@pytest.fixture(autouse=True)
def quick_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools, the first call at
    its slot's start: these tests look at answers, not at the pace (tests.helpers)."""
    share_built_once(monkeypatch)
    first_call_at_once(monkeypatch)


EXPECTED = {
    "ResourceNotFoundException": UserPoolNotFoundError,
    "InvalidParameterException": InvalidParameterError,
    "UnexpectedLambdaException": LambdaTriggerError,
    "UserLambdaValidationException": LambdaTriggerError,
    "InvalidLambdaResponseException": LambdaTriggerError,
    "NotAuthorizedException": NotAuthorizedError,
    "TooManyFailedAttemptsException": TooManyFailedAttemptsError,
    "TooManyRequestsException": ThrottledError,
    "LimitExceededException": LimitExceededError,
    "UserNotFoundException": UserNotFoundError,
    "OperationNotEnabledException": OperationNotEnabledError,
    "InternalErrorException": InternalServerError,
}

NO_RETRY = RetryPolicy(max_attempts=1)


def model_error_codes() -> list[str]:
    """The error codes botocore's installed model lists for AdminConfirmSignUp."""
    model = botocore.session.get_session().get_service_model("cognito-idp")
    return [shape.name for shape in model.operation_model("AdminConfirmSignUp").error_shapes]


def test_every_model_error_code_has_a_documented_class() -> None:
    """A code added by a future botocore fails here until it is mapped and documented."""
    codes = model_error_codes()
    assert len(codes) >= 12
    docstring = cognito_confirm._errors.__doc__ or ""
    for code in codes:
        cls = error_class_for(code)
        assert cls is not CognitoConfirmError, f"{code} has no mapping"
        assert code in docstring, f"{code} is missing from the hierarchy in the docstring"
        assert cls.__name__ in docstring
        assert cls.__name__ in cognito_confirm.__all__


def test_unknown_codes_fall_back_by_status() -> None:
    """An unmapped code is the base class, or a server error when the status is 5xx."""
    assert error_class_for("SomethingNew") is CognitoConfirmError
    assert error_class_for("SomethingNew", 503) is InternalServerError


@pytest.mark.parametrize("code", sorted(EXPECTED))
async def test_each_code_from_the_wire_raises_its_class(fake: FakeCognito, code: str) -> None:
    """Each of the 12 codes, as Cognito sends it, raises the documented class."""
    fake.add_user("victim")
    fake.fail("victim", code)
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=NO_RETRY
    ) as confirmer:
        with pytest.raises(EXPECTED[code]) as caught:
            await confirmer.confirm("victim")
    error = caught.value
    assert error.code == code
    assert error.username == "victim"
    assert error.request_id
    assert error.http_status == (500 if code == "InternalErrorException" else 400)
    assert isinstance(error, SetupError) == (
        code in {"ResourceNotFoundException", "OperationNotEnabledException"}
    )


async def test_already_confirmed_is_a_success(fake: FakeCognito) -> None:
    """Cognito's 'Current status is CONFIRMED' error becomes Outcome.ALREADY_CONFIRMED."""
    fake.add_user("done", status="CONFIRMED")
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as c:
        result = await c.confirm("done")
    assert result.outcome is Outcome.ALREADY_CONFIRMED
    assert result.error_code == "NotAuthorizedException"
    assert result.attempts == 1
    assert result.ok


async def test_confirm_then_confirm_again(fake: FakeCognito) -> None:
    """The second confirmation of the same user is already_confirmed, not an error."""
    fake.add_user("twice")
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as c:
        first = await c.confirm("twice")
        second = await c.confirm("twice")
    assert (first.outcome, second.outcome) == (Outcome.CONFIRMED, Outcome.ALREADY_CONFIRMED)
    assert fake.stats().confirmations["twice"] == 1


async def test_force_change_password_is_not_confirmable(fake: FakeCognito) -> None:
    """A FORCE_CHANGE_PASSWORD user raises NotConfirmableError naming that status."""
    fake.add_user("invited", status="FORCE_CHANGE_PASSWORD")
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as c:
        with pytest.raises(NotConfirmableError) as caught:
            await c.confirm("invited")
    assert caught.value.status == "FORCE_CHANGE_PASSWORD"
    assert "FORCE_CHANGE_PASSWORD" in str(caught.value)
    assert caught.value.code == "NotAuthorizedException"
    assert fake.stats().confirm_calls["invited"] == 1  # not retried


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("User cannot be confirmed. Current status is CONFIRMED", "CONFIRMED"),
        (
            "User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD",
            "FORCE_CHANGE_PASSWORD",
        ),
        ("Cannot confirm user. Current status is  RESET_REQUIRED.", "RESET_REQUIRED"),
        ("User is disabled.", None),
    ],
)
def test_status_is_read_from_any_wording(message: str, status: str | None) -> None:
    """The status is matched by its 'Current status is X' part, not the whole sentence."""
    assert user_status_in(message) == status


async def test_not_authorized_without_status(fake: FakeCognito) -> None:
    """A NotAuthorizedException that names no status stays a NotAuthorizedError."""
    fake.add_user("disabled")
    fake.fail("disabled", "NotAuthorizedException", message="User is disabled.")
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as c:
        with pytest.raises(NotAuthorizedError) as caught:
            await c.confirm("disabled")
    assert not isinstance(caught.value, NotConfirmableError)


async def test_throttling_is_retried_then_succeeds(fake: FakeCognito) -> None:
    """HTTP 400 throttling, which botocore does not retry by default, is retried by us."""
    fake.add_user("busy")
    fake.fail("busy", "TooManyRequestsException", times=2)
    async with CognitoConfirmer(
        fake.user_pool_id,
        endpoint_url=fake.endpoint_url,
        retry=RetryPolicy(base_delay=0.01),
    ) as c:
        result = await c.confirm("busy")
    assert result.outcome is Outcome.CONFIRMED
    assert result.attempts == 3
    assert fake.stats().confirm_calls["busy"] == 3


async def test_retry_budget_exhausted_raises_the_last_error(fake: FakeCognito) -> None:
    """A user throttled beyond the budget raises ThrottledError after exactly max_attempts."""
    fake.add_user("stuck")
    fake.fail("stuck", "TooManyRequestsException")
    async with CognitoConfirmer(
        fake.user_pool_id,
        endpoint_url=fake.endpoint_url,
        retry=RetryPolicy(max_attempts=4, base_delay=0.001),
        max_wait=None,  # the budget, not a web request's patience, ends it
    ) as c:
        with pytest.raises(ThrottledError) as caught:
            await c.confirm("stuck")
    assert caught.value.code == "TooManyRequestsException"
    assert fake.stats().confirm_calls["stuck"] == 4


async def test_server_errors_and_dropped_connections_are_retried(fake: FakeCognito) -> None:
    """InternalErrorException (HTTP 500) and dropped connections are retried to success."""
    fake.add_users(["a", "b"])
    fake.configure(drop_rate=1.0)
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=RetryPolicy(max_attempts=2)
    ) as c:
        with pytest.raises(TransportError):
            await c.confirm("a")
        fake.configure(drop_rate=0.0, error_rate=1.0)
        with pytest.raises(InternalServerError) as caught:
            await c.confirm("b")
        assert caught.value.http_status == 500
        fake.configure(error_rate=0.0)
        # "a" was confirmed by the call whose answer was lost: a retry sees it as done.
        assert (await c.confirm("a")).outcome is Outcome.ALREADY_CONFIRMED
        assert (await c.confirm("b")).outcome is Outcome.CONFIRMED


async def test_invalid_and_denied_credentials_are_access_denied(
    fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unrecognized and unauthorized credentials raise AccessDeniedError (a SetupError)."""
    fake.add_user("u")
    for key, code in [
        ("invalid", "UnrecognizedClientException"),
        ("denied", "AccessDeniedException"),
    ]:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as c:
            with pytest.raises(AccessDeniedError) as caught:
                await c.confirm("u")
        assert caught.value.code == code
        assert isinstance(caught.value, SetupError)


def test_errors_keep_usernames_out_of_their_text() -> None:
    """str() and repr-free messages never contain the username."""
    error = UserNotFoundError("User does not exist.", username="secret.person@example.com")
    assert "secret.person" not in str(error)
    assert error.username == "secret.person@example.com"
    status_error = NotConfirmableError("... FORCE_CHANGE_PASSWORD", status="X", username="p")
    assert status_error.status == "X"


async def test_translated_turns_botocore_failures_into_library_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unreachable endpoint is a TransportError; missing credentials a CredentialsError."""
    with FakeCognito() as fake:
        closed_url = fake.endpoint_url
    async with CognitoConfirmer("us-east-1_Pool1", endpoint_url=closed_url) as confirmer:
        with pytest.raises(TransportError):
            await translated(lambda: confirmer.client.describe_user_pool(UserPoolId="us-east-1_P"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    async with CognitoConfirmer("us-east-1_Pool1", endpoint_url=closed_url) as confirmer:
        with pytest.raises(CredentialsError):
            await translated(lambda: confirmer.client.describe_user_pool(UserPoolId="us-east-1_P"))
