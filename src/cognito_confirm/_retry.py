"""The one retry loop: every Cognito call the library makes goes through ``call_with_retries``.

AdminConfirmSignUp, ListUsers, AdminUpdateUserAttributes and DescribeUserPool all take this one
path: wait for the pacer, call, translate botocore's exception, tell the pacer what Cognito said,
back off and call again while ``RetryPolicy`` says so. One loop means one answer to "was this
call throttled?" (``isinstance(error, ThrottledError)``, so ``ThrottlingException`` slows the
pace as ``TooManyRequestsException`` does) and one count of attempts.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import anyio

from ._errors import (
    CognitoConfirmError,
    InternalServerError,
    LimitExceededError,
    ThrottledError,
    TransportError,
    translated,
)
from ._ratelimit import AdaptiveRateLimiter

__all__ = ["Attempts", "RetryPolicy", "call_with_retries"]

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
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 10.0
    limit_exceeded_attempts: int = 3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {self.max_attempts}"
            raise ValueError(msg)
        if self.base_delay < 0 or self.max_delay < 0:
            msg = "backoff delays cannot be negative"
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


@dataclass(frozen=True, slots=True)
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
) -> Attempts[_T]:
    """Call ``operation`` until it succeeds or ``policy`` gives up; never raise a Cognito error.

    Each call waits for its slot from ``limiter`` (None: unpaced) and tells it how the call went:
    ``throttled()`` for a throttled call, ``answered()`` for any other answer from Cognito,
    nothing for a call that got no answer. ``username`` goes into the errors' context.

    ``deadline`` (``time.monotonic()`` seconds) bounds the waiting, not the calls: no call is
    started whose slot or backoff ends after it. The error is then a ``ThrottledError`` whose
    ``retry_after`` says when room is expected (a caller such as a web request answers 429).
    """
    started = time.monotonic()
    attempts = 0
    while True:
        sent_at = await _slot(limiter, deadline)
        if sent_at is None:
            assert limiter is not None  # noqa: S101 - only a limiter leaves a call without a slot
            error = _no_slot(limiter, username)
            return Attempts(None, error, attempts, time.monotonic() - started, None)
        attempts += 1
        try:
            value = await translated(operation, username)
        except CognitoConfirmError as error:
            if limiter is not None:
                _report(limiter, sent_at, error)
            if not policy.should_retry(error, attempts):
                elapsed = time.monotonic() - started
                return Attempts(None, error, attempts, elapsed, error.request_id)
            pause = policy.backoff(attempts, rng)
            if deadline is not None and time.monotonic() + pause > deadline:
                if isinstance(error, ThrottledError):
                    error.retry_after = pause
                return Attempts(None, error, attempts, time.monotonic() - started, error.request_id)
            logger.debug("retrying %s after %s (attempt %d)", username, error.code, attempts)
            await anyio.sleep(pause)
        else:
            if limiter is not None:
                limiter.answered(sent_at)
            elapsed = time.monotonic() - started
            return Attempts(value, None, attempts, elapsed, _request_id(value))


async def _slot(limiter: AdaptiveRateLimiter | None, deadline: float | None) -> float | None:
    """Wait for the call's turn; the time it was granted, or None if not before ``deadline``."""
    if limiter is None:
        return 0.0
    if deadline is None:
        return await limiter.acquire()
    return await limiter.acquire(max_wait=max(0.0, deadline - time.monotonic()))


def _no_slot(limiter: AdaptiveRateLimiter, username: str | None) -> ThrottledError:
    wait = limiter.wait_time()
    msg = (
        f"no slot in the shared pace ({limiter.rate:.1f} calls/s) within max_wait: "
        f"the next is {wait:.2f} s away; nothing was sent"
    )
    error = ThrottledError(msg, username=username)
    error.retry_after = wait
    return error


def _report(limiter: AdaptiveRateLimiter, sent_at: float, error: CognitoConfirmError) -> None:
    if isinstance(error, ThrottledError):
        limiter.throttled(sent_at)
    elif error.http_status is not None:
        # Cognito answered (an error about the user, the pool or the credentials): the call
        # went through the quota. No status means no answer: a transport or a local error.
        limiter.answered(sent_at)


def _request_id(response: object) -> str | None:
    """The request id botocore puts in every response's ``ResponseMetadata``."""
    if not isinstance(response, Mapping):
        return None
    request_id = response.get("ResponseMetadata", {}).get("RequestId")
    return str(request_id) if request_id else None
