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
  with no success in between, stop the run with ``RepeatedFailureError``;
- a Lambda trigger error is one user's result, but a trigger that fails for everyone would
  fail a million users one by one (it did: 300 of 300, no warning), so the run stops with
  ``TriggerFailingError`` when ``TRIGGER_START`` users got a trigger error before any success,
  or ``TRIGGER_SHARE`` of the last ``TRIGGER_WINDOW`` users answered did. The window's share is
  high on purpose: a trigger that fails for one user in five (bad data in some profiles) fails
  those users and no others, and must not stop the run; even one failing half of all users at
  random reaches 45 of 50 with a probability near 1e-9 per window. Users answered with another
  error about them (not found, already confirmed) count in the window as not failed.

Slow start: the judge also says when the run may fan out. Its first user goes alone, and the
run sends ``concurrency`` users at once only after Cognito answered one with a success or an
error about that user, so a run doomed from the start (unknown pool, wrong region, bad
credentials) costs one call rather than ``concurrency``, and one that meets an unknown error
costs ``REPEATS``.
"""

from __future__ import annotations

import re
from collections import deque
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
    TriggerFailingError,
    UserNotFoundError,
)

__all__ = ["REPEATS", "TRIGGER_SHARE", "TRIGGER_START", "TRIGGER_WINDOW", "Judge", "about_one_user"]

REPEATS: Final = 3
"""Users in a row failing with the same error not about a user that stop a run."""
TRIGGER_START: Final = 10
"""Trigger errors before any success that stop a run."""
TRIGGER_WINDOW: Final = 50
"""The recent users answered over which a trigger's share of failures is judged."""
TRIGGER_SHARE: Final = 0.9
"""The share of ``TRIGGER_WINDOW`` with a trigger error that stops a run."""

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
        self._succeeded = False
        self._triggers_at_start = 0
        self._recent: deque[bool] = deque(maxlen=TRIGGER_WINDOW)

    def verdict(self, error: CognitoConfirmError | None) -> tuple[bool, SetupError | None]:
        """For a user's final error (None: success): deliver its result?, and the error that
        stops the run, if one does."""
        if error is None:  # the usual answer, in short: as below, with no trigger error
            self.answered = self._succeeded = True
            self._code, self._streak = None, 0
            self._recent.append(False)
            return True, None
        if about_one_user(error):
            self.answered = True
            self._code, self._streak = None, 0
            return True, self._trigger_verdict(error)
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

    def _trigger_verdict(self, error: CognitoConfirmError | None) -> TriggerFailingError | None:
        failed = isinstance(error, LambdaTriggerError)
        self._recent.append(failed)
        self._succeeded = self._succeeded or error is None
        if error is None or not failed:
            return None
        if not self._succeeded:
            self._triggers_at_start += 1
            if self._triggers_at_start >= TRIGGER_START:
                return TriggerFailingError(error, self._triggers_at_start, len(self._recent))
        recent = sum(self._recent)
        if len(self._recent) == TRIGGER_WINDOW and recent >= TRIGGER_SHARE * TRIGGER_WINDOW:
            return TriggerFailingError(error, recent, TRIGGER_WINDOW)
        return None


def _unreachable(error: CognitoConfirmError) -> EndpointUnreachableError:
    what = error.code or error.__class__.__name__
    msg = f"no answer from Cognito at the start of the run after {what}: {error.safe_message}"
    return EndpointUnreachableError(
        msg, code=error.code, request_id=error.request_id, http_status=error.http_status
    )
