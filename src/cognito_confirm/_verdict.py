"""Which failures stop a bulk run, by rule: ``Judge`` sees every user's final outcome.

Why a rule rather than a list of run-level codes: such a list is never complete (AWS adds
common codes, proxies and firewalls answer with their own), and each code it missed cost a run
one ``failed`` line per user: ``ExpiredToken``, ``RequestExpired``, an unknown code at HTTP 403
all burnt through 200 users. So the list is the other way round:

- the errors that concern one user are results: ``UserNotFoundException``, a
  ``NotAuthorizedException`` naming the user's status, the Lambda trigger errors,
  ``TooManyFailedAttemptsException``, an ``InvalidParameterException`` that names the user;
- a ``SetupError`` (unknown pool, the credentials, the signature, the clock, an answer not from
  Cognito) stops the run at once; the user it came from gets no result (nothing was done);
- the transient errors (throttling, transport, HTTP 5xx) are the pacer's and the gate's
  business, and one that outlasts a user's retries is that user's failure; but before anyone
  got an answer, the run stops with ``EndpointUnreachableError`` instead;
- any other error is a result too, but ``REPEATS`` users in a row failing with the same code,
  with no success in between, stop the run with ``RepeatedFailureError``.

Slow start: the judge also says when the run may fan out. Its first user goes alone, and the
run sends ``concurrency`` users at once only after Cognito answered one with a success or an
error about that user, so a run doomed from the start (unknown pool, wrong region, bad
credentials) costs one call rather than ``concurrency``, and one that meets an unknown error
costs ``REPEATS``.
"""

from __future__ import annotations

import re
from typing import Final

from ._errors import (
    CognitoConfirmError,
    EndpointUnreachableError,
    InternalServerError,
    InvalidParameterError,
    InvalidUsernameError,
    LambdaTriggerError,
    NotConfirmableError,
    RepeatedFailureError,
    SetupError,
    ThrottledError,
    TooManyFailedAttemptsError,
    TransportError,
    UserNotFoundError,
)

__all__ = ["REPEATS", "Judge", "about_one_user"]

REPEATS: Final = 3
"""Users in a row failing with the same error not about a user that stop a run."""

_ONE_USER: Final = (
    NotConfirmableError,
    UserNotFoundError,
    LambdaTriggerError,
    TooManyFailedAttemptsError,
    InvalidUsernameError,
)
_TRANSIENT: Final = (ThrottledError, TransportError, InternalServerError)
# "Invalid username", "Username should be ...", "User is disabled" name the user; "User pool
# ..." or "Invalid ClientMetadata" would fail every user alike.
_NAMES_THE_USER: Final = re.compile(r"\buser(?:name)?\b(?!\s+pool)", re.IGNORECASE)


def about_one_user(error: CognitoConfirmError) -> bool:
    """Whether an error concerns only the user it came for (see the module docstring)."""
    if isinstance(error, _ONE_USER):
        return True
    return isinstance(error, InvalidParameterError) and bool(_NAMES_THE_USER.search(error.message))


class Judge:
    """Decides, user after user, whether a run goes on; see the module docstring.

    Attributes:
        answered: True once Cognito answered a user with a success or an error about it: the
            run may fan out.
    """

    def __init__(self) -> None:
        self.answered = False
        self._code: str | None = None
        self._streak = 0

    def verdict(self, error: CognitoConfirmError | None) -> tuple[bool, SetupError | None]:
        """For a user's final error (None: success): deliver its result?, and the error that
        stops the run, if one does."""
        if error is None or about_one_user(error):
            self.answered = True
            self._code, self._streak = None, 0
            return True, None
        if isinstance(error, SetupError):
            return False, error
        if isinstance(error, _TRANSIENT):
            if not self.answered and not isinstance(error, ThrottledError):
                return False, _unreachable(error)
            return True, None
        code = error.code or type(error).__name__
        self._streak = self._streak + 1 if code == self._code else 1
        self._code = code
        if self._streak >= REPEATS:
            return True, RepeatedFailureError(error, self._streak)
        return True, None


def _unreachable(error: CognitoConfirmError) -> EndpointUnreachableError:
    what = error.code or error.__class__.__name__
    msg = f"no answer from Cognito at the start of the run after {what}: {error.safe_message}"
    return EndpointUnreachableError(
        msg, code=error.code, request_id=error.request_id, http_status=error.http_status
    )
