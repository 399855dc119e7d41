"""One user's AdminConfirmSignUp, and the one place a ``ConfirmResult`` is built.

``CognitoConfirmer.confirm()`` and the bulk engine both take their results from here, so the same
user state gives the same fields either way. An already confirmed user is a success: Cognito
answers ``NotAuthorizedException`` "... Current status is CONFIRMED", which becomes
``ALREADY_CONFIRMED`` rather than an error.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ._errors import (
    ALREADY_CONFIRMED_STATUS,
    CognitoConfirmError,
    NotConfirmableError,
    UserNotFoundError,
)
from ._gate import CallGate
from ._ratelimit import AdaptiveRateLimiter
from ._result import ConfirmResult, Outcome
from ._retry import Attempts, RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

__all__ = ["ALREADY_CONFIRMED_MESSAGE", "Confirmation", "confirm_user", "result_without_call"]

logger = logging.getLogger("cognito_confirm")

ALREADY_CONFIRMED_MESSAGE: Final = "already confirmed"

_T = TypeVar("_T")


@dataclass(slots=True)  # not frozen: internal, and a frozen init costs time each user
class Confirmation:
    """One user's result, with the error behind it when it is not ok.

    The bulk engine turns the error into a result (or, for a ``SetupError``, stops the run);
    ``confirm()`` raises it.

    Attributes:
        result: The user's result.
        error: The error behind a result that is not ok; None for a success.
    """

    result: ConfirmResult
    error: CognitoConfirmError | None = None

    def unwrap(self) -> ConfirmResult:
        """The result of a success, or raise the error behind a failure."""
        if self.error is not None:
            raise self.error
        return self.result


async def confirm_user(
    client: CognitoIdentityProviderClient,
    user_pool_id: str,
    username: str,
    *,
    index: int = 0,
    client_metadata: Mapping[str, str] | None = None,
    policy: RetryPolicy,
    limiter: AdaptiveRateLimiter | None,
    rng: random.Random,
    deadline: float | None = None,
    gate: CallGate | None = None,
) -> Confirmation:
    """Call AdminConfirmSignUp for one (valid) username until it succeeds or ``policy`` gives up.

    ``index`` is the user's position in a bulk run's input; ``limiter`` paces the calls (None:
    unpaced); ``deadline`` bounds the waiting and ``gate`` is a bulk run's (see
    ``call_with_retries``). Never raises a ``CognitoConfirmError``: a failure is in the
    ``Confirmation`` (``NotSentError`` for a user a stopped run never sent).
    """
    kwargs: dict[str, Any] = {"UserPoolId": user_pool_id, "Username": username}
    if client_metadata:
        kwargs["ClientMetadata"] = dict(client_metadata)
    attempts = await call_with_retries(
        lambda: client.admin_confirm_sign_up(**kwargs),
        policy=policy,
        limiter=limiter,
        rng=rng,
        username=username,
        deadline=deadline,
        gate=gate,
    )
    if attempts.error is not None and client_metadata:
        # A trigger's message may echo what it was given: keep the values out of str().
        attempts.error.redacted = tuple(value for value in client_metadata.values() if value)
    return _settled(username, index, attempts)


def result_without_call(username: str, index: int, outcome: Outcome, reason: str) -> ConfirmResult:
    """The result of an input item settled before any call: invalid, duplicate or skipped."""
    return _logged(ConfirmResult(username, outcome, message=reason, index=index))


def _logged(result: ConfirmResult) -> ConfirmResult:
    """``result``, after its one DEBUG line: every user's outcome is logged once, here."""
    logger.debug("%s %s", result.outcome, result.username)  # a StrEnum: its value
    return result


def _settled(username: str, index: int, attempts: Attempts[_T]) -> Confirmation:
    error = attempts.error
    outcome, message, user_status = _outcome_of(error)
    # Positional, in the fields' order: keywords cost a frozen dataclass 0.4 us more a user.
    result = ConfirmResult(
        username,
        outcome,
        None if error is None else error.code,  # error_code
        message,
        attempts.attempts,
        attempts.elapsed,
        index,
        user_status,
        attempts.request_id,
    )
    return Confirmation(_logged(result), None if error is None or outcome.ok else error)


def _outcome_of(error: CognitoConfirmError | None) -> tuple[Outcome, str | None, str | None]:
    """The outcome, message and user status that a call's final error (or success) stands for."""
    if error is None:
        return Outcome.CONFIRMED, None, ALREADY_CONFIRMED_STATUS
    if isinstance(error, NotConfirmableError):
        if error.status == ALREADY_CONFIRMED_STATUS:
            return Outcome.ALREADY_CONFIRMED, ALREADY_CONFIRMED_MESSAGE, error.status
        return Outcome.NOT_CONFIRMABLE, error.message, error.status
    if isinstance(error, UserNotFoundError):
        return Outcome.NOT_FOUND, error.message, None
    return Outcome.FAILED, error.message, None
