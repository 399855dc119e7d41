"""The one retry loop: every Cognito call the library makes goes through ``call_with_retries``.

AdminConfirmSignUp, ListUsers, AdminUpdateUserAttributes and DescribeUserPool all take this one
path: wait for the pacer, call, translate botocore's exception, tell the pacer what Cognito said,
back off and call again while ``RetryPolicy`` says so. One loop means one answer to "was this
call throttled?" (``isinstance(error, ThrottledError)``, so ``ThrottlingException`` slows the
pace as ``TooManyRequestsException`` does) and one count of attempts. A bulk run's calls also
pass its ``_gate.CallGate`` here, which holds them in an outage and after ``stop()``.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import anyio

from ._answers import MAPPING
from ._clock import now as loop_time
from ._errors import (
    CognitoConfirmError,
    InternalServerError,
    LimitExceededError,
    ThrottledError,
    TransportError,
    translated,
)
from ._gate import Admission, CallGate
from ._ratelimit import AdaptiveRateLimiter

__all__ = ["Attempts", "NotSentError", "RetryPolicy", "call_with_retries"]

logger = logging.getLogger("cognito_confirm")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The only retry layer: botocore's own retries are switched off so the two never multiply.

    Retried: throttling, ``InternalErrorException`` and other 5xx answers, dropped connections
    and timeouts, each with full-jitter exponential backoff. ``LimitExceededException`` is retried
    at most ``limit_exceeded_attempts`` times since it can mean a daily limit. Everything else
    (unknown user, not authorized, invalid parameter, Lambda errors) is final at once.

    Attributes:
        max_attempts: Calls made for one user at most, the first included.
        base_delay: Seconds of the first backoff's upper bound; each retry doubles it.
        max_delay: The upper bound of any single backoff.
        limit_exceeded_attempts: Calls at most for a user answered ``LimitExceededException``.
        timeout: Seconds one user may take at most, from its first call: waiting for the pace,
            backoff and the calls themselves (one still running then is cut short and ends as
            a ``TransportError``). None: no bound but the client's connect and read timeouts.
            In a bulk run, time the run held the user in an outage, and the calls the outage
            left unanswered, are not counted (nor against ``max_attempts``).
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 10.0
    limit_exceeded_attempts: int = 3
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {self.max_attempts}"
            raise ValueError(msg)
        if self.base_delay < 0 or self.max_delay < 0:
            msg = "backoff delays cannot be negative"
            raise ValueError(msg)
        if self.timeout is not None and not (self.timeout > 0 and math.isfinite(self.timeout)):
            msg = f"timeout must be a positive number of seconds or None, got {self.timeout}"
            raise ValueError(msg)

    def should_retry(self, error: CognitoConfirmError, attempts: int) -> bool:
        """Whether a user whose latest of ``attempts`` calls failed with ``error`` gets another."""
        if attempts >= self.max_attempts:
            return False
        if isinstance(error, LimitExceededError):
            return attempts < self.limit_exceeded_attempts
        return isinstance(error, ThrottledError | InternalServerError | TransportError)

    def backoff(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed call (full jitter, capped)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        # Jitter only spreads retries in time; it does not need a secure generator.
        return (rng or random).uniform(0, ceiling)


@dataclass(slots=True)  # not frozen: internal, and a frozen init costs 1 us a user
class Attempts(Generic[_T]):
    """How the calls for one operation ended: its value, or the error the policy stopped at.

    Attributes:
        value: What the successful call returned (None when ``error`` is set).
        error: The last call's error when it was final or the retry budget ran out, else None.
        attempts: How many calls were made, the first included.
        elapsed: Seconds from the first call to the end, backoff included.
        request_id: The AWS request id of the last call, if Cognito answered it.
    """

    value: _T | None
    error: CognitoConfirmError | None
    attempts: int
    elapsed: float
    request_id: str | None

    def unwrap(self) -> _T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return cast("_T", self.value)


async def call_with_retries(
    operation: Callable[[], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    limiter: AdaptiveRateLimiter | None,
    rng: random.Random,
    username: str | None = None,
    deadline: float | None = None,
    gate: CallGate | None = None,
) -> Attempts[_T]:
    """Call ``operation`` until it succeeds or ``policy`` gives up; never raise a Cognito error.

    Each call waits for its slot from ``limiter`` (None: unpaced) and tells it how the call went:
    ``throttled()`` for a throttled call, ``answered()`` for any other answer from Cognito,
    nothing for a call that got no answer. ``username`` goes into the errors' context.

    ``deadline`` (seconds on the loop's clock, ``_clock.now()``) bounds the waiting, not the
    calls: no call is started whose slot or backoff ends after it. The error is then a
    ``ThrottledError`` whose ``retry_after`` says when room is expected (a caller such as a web
    request answers 429).
    ``policy.timeout`` bounds the user's calls too: one still running at that point is cut short.

    ``gate`` (a bulk run's; see ``_gate``) holds calls in an outage and after ``stop()``. A user
    stopped before its first call ends with ``NotSentError`` and no call; one stopped while
    waiting to retry ends with its last error.
    """
    budget = _Budget(policy, deadline)
    attempts = counted = 0
    error: CognitoConfirmError | None = None
    while True:
        probe = False
        if gate is not None and not gate.open:
            admission, held = await gate.admit()
            budget.hold(held)
            if admission is Admission.STOPPED:
                return budget.ended(error or NotSentError(username), attempts)
            if admission is Admission.GAVE_UP:
                return budget.ended(gate.unreachable, attempts)
            probe = admission is Admission.PROBE
        sent_at = await _slot(limiter, budget.waits_end, gate)
        if sent_at is None or budget.expired() or (gate is not None and gate.stopped):
            if gate is not None:
                gate.cut_short(probe=probe, sent=False, key=username)
            return budget.ended(_unsent(error, limiter, gate, username, deadline), attempts)
        attempts += 1
        if gate is not None:
            gate.sending(username)
        called_at = loop_time()
        value, error = await _call(operation, username, called_at, budget.remaining(), gate, probe)
        unanswered = error is not None and _unanswered(error)
        _report(limiter, gate, sent_at, error, username, probe=probe)
        if error is None:
            return budget.ended(None, attempts, value)
        if unanswered and gate is not None and gate.overdue():
            return budget.ended(gate.give_up(), attempts)  # the run's outage, not the user's
        counted += 1
        if unanswered and gate is not None:
            if not gate.down and not policy.should_retry(error, counted):
                await gate.others_reported()  # did an outage begin with this user's calls?
            if gate.down:
                # The outage took this user's calls, not the user: they count neither against
                # the budget nor the timeout, and the gate holds the next one.
                budget.hold(loop_time() - called_at)
                counted = 0
                continue
        if not policy.should_retry(error, counted):
            return budget.ended(error, attempts)
        pause = policy.backoff(counted, rng)
        if budget.too_late(pause):
            if deadline is not None and isinstance(error, ThrottledError):
                error.retry_after = pause
            return budget.ended(error, attempts)
        logger.debug("retrying %s after %s (attempt %d)", username, error.code, attempts)
        if gate is None:
            await anyio.sleep(pause)
        else:
            with gate.interruptible():
                await anyio.sleep(pause)
            if gate.stopped:
                return budget.ended(error, attempts)


def _unsent(
    error: CognitoConfirmError | None,
    limiter: AdaptiveRateLimiter | None,
    gate: CallGate | None,
    username: str | None,
    deadline: float | None,
) -> CognitoConfirmError:
    """Why a user ends before its next call: stopped, no slot in time, or out of time."""
    if gate is not None and gate.stopped:
        return error or NotSentError(username)
    if error is not None and deadline is None:
        return error  # the policy's timeout: the last call's error says what went wrong
    if limiter is None:
        return TransportError("the retry policy's timeout passed before a call", username=username)
    return _no_slot(limiter, username, "max_wait" if deadline is not None else "the timeout")


class NotSentError(CognitoConfirmError):
    """Internal: a bulk run was stopped before this user's first call; nothing was sent."""

    def __init__(self, username: str | None) -> None:
        super().__init__("the run was stopped before this user was sent", username=username)


class _Budget:
    """One user's clock: ``deadline`` for the waits, ``policy.timeout`` for everything.

    Attributes:
        started: When the user's first wait began, on the loop's clock.
        ends: When ``policy.timeout`` is spent, held time added; None: no timeout.
        waits_end: When no wait may end after: the earlier of ``deadline`` and ``ends``.
    """

    def __init__(self, policy: RetryPolicy, deadline: float | None) -> None:
        self.started = loop_time()
        self._deadline = deadline
        # Kept as plain attributes, updated by ``hold()``: read once or twice a call.
        self.ends = None if policy.timeout is None else self.started + policy.timeout
        self.waits_end = self._waits_end()

    def _waits_end(self) -> float | None:
        if self._deadline is None:
            return self.ends
        return self._deadline if self.ends is None else min(self._deadline, self.ends)

    def hold(self, seconds: float) -> None:
        """Time the user spent held in an outage: not counted against ``policy.timeout``."""
        if self.ends is not None:
            self.ends += seconds
            self.waits_end = self._waits_end()

    def remaining(self) -> float | None:
        return None if self.ends is None else self.ends - loop_time()

    def expired(self) -> bool:
        return self.ends is not None and self.ends <= loop_time()

    def too_late(self, pause: float) -> bool:
        """Whether a backoff of ``pause`` s would end after the deadline or the timeout."""
        ends = self.waits_end
        return ends is not None and loop_time() + pause > ends

    def ended(
        self, error: CognitoConfirmError | None, attempts: int, value: _T | None = None
    ) -> Attempts[_T]:
        elapsed = loop_time() - self.started
        request_id = _request_id(value) if error is None else error.request_id
        return Attempts(value, error, attempts, elapsed, request_id)


async def _call(
    operation: Callable[[], Awaitable[_T]],
    username: str | None,
    called_at: float,
    time_left: float | None,
    gate: CallGate | None,
    probe: bool,
) -> tuple[_T | None, CognitoConfirmError | None]:
    """Make one call at ``called_at``: its value, or its error (a ``TransportError`` when cut
    at ``time_left``, the user's timeout; the run's outage budget is ``CallGate.watch()``'s)."""
    try:
        if time_left is None:
            return await translated(operation, username), None
        # A CancelScope on the loop's clock rather than move_on_after(), which reads the clock
        # through anyio's backend lookup: 2 us of the scope's ~12 us per call.
        with anyio.CancelScope(deadline=called_at + time_left):
            return await translated(operation, username), None
    except CognitoConfirmError as error:
        return None, error
    except BaseException:
        if gate is not None:
            gate.cut_short(probe=probe, sent=True, key=username)
        raise
    msg = f"no answer within the retry policy's timeout ({time_left:.1f} s were left)"
    return None, TransportError(msg, username=username)


def _unanswered(error: CognitoConfirmError) -> bool:
    """No answer from Cognito: a transport error, or HTTP 5xx (ours, a proxy's or Cognito's)."""
    return isinstance(error, TransportError) or (error.http_status or 0) >= 500


async def _slot(
    limiter: AdaptiveRateLimiter | None, deadline: float | None, gate: CallGate | None
) -> float | None:
    """Wait for the call's turn; the time it was granted, or None if not before ``deadline``
    (or if ``gate`` was stopped meanwhile)."""
    if limiter is None:
        return 0.0
    max_wait = None if deadline is None else max(0.0, deadline - loop_time())
    if gate is None:
        return await limiter.acquire(max_wait)
    slot, now = limiter.claim(max_wait)
    epoch = limiter.epoch  # after the claim, which a census count may have cut: its slot holds
    if slot is None or slot <= now:
        # Due now: the call goes at once, with neither a cancel scope nor a trip through the
        # event loop (5 us and 26k instructions a user on an instant client): the call yields.
        return slot
    with gate.interruptible() as scope:
        granted = await limiter.wait_for(slot, now, epoch, max_wait)
    return None if scope.cancel_called else granted


def _no_slot(limiter: AdaptiveRateLimiter, username: str | None, within: str) -> ThrottledError:
    wait = limiter.wait_time()
    msg = (
        f"no slot in the shared pace ({limiter.rate:.1f} calls/s) within {within}: "
        f"the next is {wait:.2f} s away; nothing was sent"
    )
    error = ThrottledError(msg, username=username)
    error.retry_after = wait
    return error


def _report(
    limiter: AdaptiveRateLimiter | None,
    gate: CallGate | None,
    sent_at: float,
    error: CognitoConfirmError | None,
    username: str | None,
    *,
    probe: bool,
) -> None:
    """Tell the pacer and the gate how a call went."""
    # Cognito answered (an error about the user, the pool or the credentials): the call went
    # through the quota. No status means no answer: a transport or a local error.
    through = error is None or isinstance(error, ThrottledError) or error.http_status is not None
    if limiter is not None and through:
        if isinstance(error, ThrottledError):
            limiter.throttled(sent_at)
        else:
            limiter.answered(sent_at)
    if gate is None:
        return
    if error is not None and _unanswered(error):
        gate.unanswered(username, probe=probe)
    else:
        gate.answered(username)


def _request_id(response: object) -> str | None:
    """The request id botocore puts in every response's ``ResponseMetadata``."""
    if not isinstance(response, MAPPING):
        return None
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    return str(request_id) if request_id else None
