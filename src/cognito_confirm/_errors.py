"""Exceptions raised by cognito-confirm.

Every error has one base class and carries its context: the username it concerns (never in
``str(error)``, because usernames are personal data and exception messages end up in logs), the
Cognito error code, Cognito's message and the AWS request id.

    CognitoConfirmError
    ├── UserNotFoundError            UserNotFoundException
    ├── NotAuthorizedError           NotAuthorizedException (no user status in the message)
    │   └── NotConfirmableError      "... Current status is FORCE_CHANGE_PASSWORD" and the like
    ├── InvalidUsernameError         a username that fails botocore's model (also ValueError)
    ├── InvalidParameterError        InvalidParameterException
    ├── LambdaTriggerError           UnexpectedLambdaException, UserLambdaValidationException,
    │                                InvalidLambdaResponseException
    ├── TooManyFailedAttemptsError   TooManyFailedAttemptsException
    ├── ThrottledError               TooManyRequestsException (HTTP 400, not 429)
    ├── LimitExceededError           LimitExceededException
    ├── InternalServerError          InternalErrorException (HTTP 500), any other 5xx
    ├── TransportError               dropped connections, timeouts, unreachable endpoint
    └── SetupError                   whatever dooms every call, not just one user:
        ├── InvalidUserPoolIdError   a pool id that fails botocore's model (also ValueError)
        ├── InvalidClientMetadataError  ClientMetadata that is not a str -> str map (ValueError)
        ├── UserPoolNotFoundError    ResourceNotFoundException
        ├── OperationNotEnabledError OperationNotEnabledException (e.g. a replica region)
        ├── AccessDeniedError        AccessDeniedException, UnrecognizedClientException,
        │   │                        InvalidClientTokenId, ExpiredToken(Exception),
        │   │                        IncompleteSignature, InvalidSignatureException, ...
        │   └── ClockSkewError       RequestExpired, "Signature expired": the clock is off
        ├── CredentialsError         no credentials, no region, a broken profile
        ├── EndpointNotCognitoError  an answer without an AWS request id, not JSON, or not
        │                            parsable: a wrong endpoint, a proxy, a captive portal
        ├── EndpointUnreachableError a bulk run that got no answer (at the start, or for
        │                            longer than its outage budget)
        ├── RepeatedFailureError     a bulk run whose users failed one after another with the
        │                            same error that is not about a user (an unknown code)
        └── TriggerFailingError      a bulk run whose post-confirmation Lambda trigger fails
                                     for (nearly) every user

A ``SetupError`` stops a bulk run early; every other error is one user's failure and becomes a
result (``cognito_confirm.ResultStream`` says which failures, repeated, stop a run too).
``ClientStateError`` (a ``RuntimeError``) reports misuse of the client itself.

``translated()`` at the end is the one place botocore's exceptions become these: every Cognito
call the library makes goes through it. It also checks that each answer comes from AWS: botocore
parses an HTTP 200 HTML page into an empty success, which for AdminConfirmSignUp would read as
"confirmed" (see ``_answers``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

import botocore.exceptions

from ._answers import MAPPING, foreign_answer

if TYPE_CHECKING:
    from ._result import BulkReport

__all__ = [
    "AccessDeniedError",
    "ClientStateError",
    "ClockSkewError",
    "CognitoConfirmError",
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
    "RepeatedFailureError",
    "SetupError",
    "ThrottledError",
    "TooManyFailedAttemptsError",
    "TransportError",
    "TriggerFailingError",
    "UserNotFoundError",
    "UserPoolNotFoundError",
    "error_class_for",
]

_T = TypeVar("_T")


class CognitoConfirmError(Exception):
    """Base class of every error this library raises about a Cognito call.

    Attributes:
        message: Cognito's message (or ours, for errors raised before any call).
        username: The user concerned, or None. Kept out of ``str()``: it is personal data.
        code: The Cognito / AWS error code, e.g. ``"UserNotFoundException"``, or None when the
            error was raised locally.
        request_id: The AWS request id of the failing call, for a support case.
        http_status: The HTTP status of the failing call, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        username: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.username = username
        self.code = code
        self.request_id = request_id
        self.http_status = http_status

    redacted: tuple[str, ...] = ()
    """Values kept out of ``str()`` besides the username: the call's ClientMetadata values."""

    def __str__(self) -> str:
        prefix = f"{self.code}: " if self.code else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.safe_message}{suffix}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    @property
    def safe_message(self) -> str:
        """``message`` with the username and the ClientMetadata values taken out: a server's
        message may quote them (a Lambda trigger's often does), and ``str()`` ends up in logs."""
        message = self.message
        if self.username:
            message = message.replace(self.username, "<username>")
        for value in self.redacted:
            message = message.replace(value, "<client metadata>")
        return message


class UserNotFoundError(CognitoConfirmError):
    """The user does not exist in the pool."""


class NotAuthorizedError(CognitoConfirmError):
    """Cognito refused the operation (``NotAuthorizedException``) without naming a user status."""


class NotConfirmableError(NotAuthorizedError):
    """The user exists but is in a status AdminConfirmSignUp cannot change.

    A user created with AdminCreateUser is in ``FORCE_CHANGE_PASSWORD`` and must set a password;
    ``ARCHIVED``, ``COMPROMISED`` and ``RESET_REQUIRED`` users need other operations too.

    Attributes:
        status: The user's current status as Cognito named it, e.g. ``"FORCE_CHANGE_PASSWORD"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: str,
        username: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(
            message,
            username=username,
            code=code,
            request_id=request_id,
            http_status=http_status,
        )
        self.status = status


class InvalidUsernameError(CognitoConfirmError, ValueError):
    """A username that botocore's model rejects; raised before any call is sent."""


class InvalidParameterError(CognitoConfirmError):
    """Cognito rejected a parameter (``InvalidParameterException``)."""


class LambdaTriggerError(CognitoConfirmError):
    """The pool's post-confirmation (or another) Lambda trigger failed or answered badly."""


class TooManyFailedAttemptsError(CognitoConfirmError):
    """``TooManyFailedAttemptsException``: too many failed attempts for this user."""


class ThrottledError(CognitoConfirmError):
    """``TooManyRequestsException``: the account's rate quota is spent (HTTP 400, not 429).

    Also raised by ``confirm()`` without any call when the confirmer's shared pace has no slot
    within its ``max_wait`` (``code`` is then None).

    Attributes:
        retry_after: Seconds after which a new attempt may find room, when known: the pace's
            next free slot, or the backoff the retry policy would have waited.
    """

    retry_after: float | None = None


class LimitExceededError(CognitoConfirmError):
    """``LimitExceededException``: a limit that may not clear soon (e.g. a daily one)."""


class InternalServerError(CognitoConfirmError):
    """``InternalErrorException`` or another server-side (5xx) fault; worth retrying."""


class TransportError(CognitoConfirmError):
    """The call did not complete: dropped connection, timeout, unreachable endpoint."""


class SetupError(CognitoConfirmError):
    """A problem with the pool, the credentials or the configuration: no call can succeed.

    Attributes:
        partial_report: When ``confirm_many`` stopped early because of this error, the results
            of the users that had already completed; None otherwise.
    """

    partial_report: BulkReport | None = None


class InvalidUserPoolIdError(SetupError, ValueError):
    """A user pool id that botocore's model rejects; raised before any call is sent."""


class InvalidClientMetadataError(SetupError, ValueError):
    """``client_metadata`` that is not a map of strings to strings; raised before any call.

    The message names the key, never the value: ClientMetadata may hold secrets, and botocore's
    own validation error (which this replaces) quotes the value.
    """


class UserPoolNotFoundError(SetupError):
    """``ResourceNotFoundException``: the user pool does not exist in this account and region."""


class OperationNotEnabledError(SetupError):
    """``OperationNotEnabledException``: not available here (e.g. in a replica region)."""


class AccessDeniedError(SetupError):
    """The credentials are invalid, expired, or not allowed to call the operation."""


class ClockSkewError(AccessDeniedError):
    """AWS refused the request's signature as too old or too new: this machine's clock is off.

    ``RequestExpired``, or ``InvalidSignatureException`` "Signature expired". Syncing the clock
    (NTP) fixes it; new credentials do not.
    """


class CredentialsError(SetupError):
    """No usable credentials or region could be found in the AWS configuration chain."""


class EndpointNotCognitoError(SetupError):
    """The answer did not come from Cognito: no AWS request id, not JSON, or not parsable.

    What a wrong ``endpoint_url``, a proxy or a captive portal answers, often an HTML page,
    sometimes with HTTP 200, which botocore alone would take for a success. ``code`` is what
    botocore made of the answer (e.g. ``"403"``), ``http_status`` its status.
    """


class EndpointUnreachableError(SetupError):
    """A bulk run got no answer: at its start, or for longer than its outage budget.

    Raised instead of failing user after user when the endpoint is wrong or the network is down.
    """


class RepeatedFailureError(SetupError):
    """Users failed one after another with the same error, and none succeeded in between.

    An error that is not about one user (an unknown code, an HTTP 403 from a firewall, a
    ``NotAuthorizedException`` naming no user status) would fail every user alike, so a bulk run
    stops once ``count`` users in a row got it. Their results were delivered before this is
    raised. ``code``, ``http_status`` and ``request_id`` are the last such error's.

    Attributes:
        error: The last of the repeated errors.
        count: How many users in a row got it.
    """

    def __init__(self, error: CognitoConfirmError, count: int) -> None:
        status = f" (HTTP {error.http_status})" if error.http_status is not None else ""
        # The server's message is not quoted: it may name the user or echo ClientMetadata
        # (a trigger's message does), and this one reaches stderr and the JSON summary. It is
        # in ``error.message`` and in the users' results.
        message = (
            f"{count} users in a row failed with {error.code or type(error).__name__}{status}, "
            f"with no success in between: an error about the run, not the users; stopped"
        )
        super().__init__(
            message, code=error.code, request_id=error.request_id, http_status=error.http_status
        )
        self.error = error
        self.count = count
        self.__cause__ = error


class TriggerFailingError(SetupError):
    """The pool's post-confirmation Lambda trigger failed for (nearly) every user of a bulk run.

    A trigger that fails for everyone (a bad deployment, a missing permission, ClientMetadata it
    does not expect) would fail every user of the input, so the run stops (``_verdict`` has the
    rule). ``code`` is the trigger error's; its message (which often names the user or echoes
    ClientMetadata) is not quoted: it is in ``error.message`` and in the users' results.

    Attributes:
        error: The last trigger error.
        failed: How many of the users judged got a trigger error.
        judged: How many users that is out of.
    """

    def __init__(self, error: CognitoConfirmError, failed: int, judged: int) -> None:
        message = (
            f"the pool's post-confirmation Lambda trigger failed for {failed} of {judged} "
            f"users ({error.code or type(error).__name__}): a fault of the trigger, not of "
            f"the users; stopped"
        )
        super().__init__(
            message, code=error.code, request_id=error.request_id, http_status=error.http_status
        )
        self.error = error
        self.failed = failed
        self.judged = judged
        self.__cause__ = error


class ClientStateError(RuntimeError):
    """A ``CognitoConfirmer`` used outside its ``async with`` block, or entered twice."""


_ERROR_CLASSES: Final[dict[str, type[CognitoConfirmError]]] = {
    # The 12 codes botocore's model lists for AdminConfirmSignUp.
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
    # Codes every AWS JSON service can answer, outside the operation's model.
    "AccessDeniedException": AccessDeniedError,
    "UnrecognizedClientException": AccessDeniedError,
    "InvalidClientTokenId": AccessDeniedError,
    "InvalidSignatureException": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredTokenException": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "IncompleteSignature": AccessDeniedError,
    "IncompleteSignatureException": AccessDeniedError,
    "MissingAuthenticationTokenException": AccessDeniedError,
    "RequestExpired": ClockSkewError,
    "RequestTimeTooSkewed": ClockSkewError,
    "ThrottlingException": ThrottledError,
    "ServiceUnavailableException": InternalServerError,
}

# InvalidSignatureException says "Signature expired: 20240101T000000Z is now earlier than ..."
# (or "Signature not yet current") when the clock, not the key, is wrong.
_CLOCK_SKEW_MESSAGE: Final = re.compile(r"Signature (?:expired|not yet current)", re.IGNORECASE)

# Cognito has worded this sentence differently over the years; the code plus this part is stable.
_STATUS_IN_MESSAGE: Final = re.compile(r"Current status is\s+([A-Z_]+)")

ALREADY_CONFIRMED_STATUS: Final = "CONFIRMED"


def user_status_in(message: str) -> str | None:
    """The user status named by a NotAuthorizedException message, if it names one."""
    match = _STATUS_IN_MESSAGE.search(message)
    return match.group(1) if match else None


def error_class_for(code: str, http_status: int | None = None) -> type[CognitoConfirmError]:
    """The exception class for a Cognito error code (the base class for an unknown one)."""
    if code in _ERROR_CLASSES:
        return _ERROR_CLASSES[code]
    if http_status is not None and http_status >= 500:
        return InternalServerError
    return CognitoConfirmError


BOTOCORE_SETUP_EXCEPTIONS: Final = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.CredentialRetrievalError,
    botocore.exceptions.NoRegionError,
    botocore.exceptions.ProfileNotFound,
    botocore.exceptions.ConfigNotFound,
)
"""What botocore raises for a configuration that cannot work: a ``CredentialsError`` here."""
_BOTOCORE_TRANSPORT_EXCEPTIONS: Final = (
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.ConnectionError,
)


async def translated(operation: Callable[[], Awaitable[_T]], username: str | None = None) -> _T:
    """Await one Cognito call, turning botocore's exceptions into this library's errors.

    Raises ``EndpointNotCognitoError`` for an answer that did not come from AWS (see
    ``foreign_answer``), success or error alike.
    """
    try:
        response = await operation()
    except botocore.exceptions.ClientError as exc:
        raise translate_client_error(exc, username) from exc
    except BOTOCORE_SETUP_EXCEPTIONS as exc:
        raise CredentialsError(str(exc), username=username) from exc
    except _BOTOCORE_TRANSPORT_EXCEPTIONS as exc:
        raise TransportError(str(exc), username=username) from exc
    except botocore.exceptions.ParamValidationError as exc:
        raise InvalidParameterError(str(exc), username=username) from exc
    if isinstance(response, MAPPING):
        problem = foreign_answer(response)
        if problem is not None:
            raise _not_cognito(problem, response, username)
    return response


def translate_client_error(
    exc: botocore.exceptions.ClientError, username: str | None
) -> CognitoConfirmError:
    """The typed error for a botocore ClientError from a Cognito call."""
    error: Mapping[str, Any] = exc.response.get("Error", {})
    metadata: Mapping[str, Any] = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")) or code
    http_status = metadata.get("HTTPStatusCode")
    # A 5xx page from a proxy or a load balancer is an outage, not a wrong endpoint.
    if http_status is None or http_status < 500:
        problem = foreign_answer(exc.response)
        if problem is not None:
            return _not_cognito(problem, exc.response, username)
    context: dict[str, Any] = {
        "username": username,
        "code": code,
        "request_id": metadata.get("RequestId"),
        "http_status": http_status,
    }
    cls = error_class_for(code, http_status)
    if cls is AccessDeniedError and _CLOCK_SKEW_MESSAGE.search(message):
        cls = ClockSkewError
    if cls is ClockSkewError:
        message = f"{message} (this machine's clock is probably off: sync it, e.g. with NTP)"
    if cls is NotAuthorizedError:
        status = user_status_in(message)
        if status is not None:
            return NotConfirmableError(message, status=status, **context)
    return cls(message, **context)


_EXCERPT: Final = 120
"""Characters of a foreign page quoted in the error: enough to recognise it, not to flood."""


def _not_cognito(
    problem: str, response: Mapping[str, Any], username: str | None
) -> EndpointNotCognitoError:
    error: Mapping[str, Any] = response.get("Error", {})
    metadata: Mapping[str, Any] = response.get("ResponseMetadata", {})
    excerpt = " ".join(str(error.get("Message", "")).split())[:_EXCERPT]
    message = (
        f"the answer did not come from Cognito ({problem}): check the endpoint URL, any proxy "
        f"(HTTPS_PROXY) and the network{f'; it said: {excerpt}' if excerpt else ''}"
    )
    code = error.get("Code")
    return EndpointNotCognitoError(
        message,
        username=username,
        code=None if code is None else str(code),
        request_id=metadata.get("RequestId"),
        http_status=metadata.get("HTTPStatusCode"),
    )
