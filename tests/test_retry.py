"""The retry policy retries what is transient, and only that."""

from __future__ import annotations

import random

import pytest

from cognito_confirm import (
    CognitoConfirmError,
    InternalServerError,
    LambdaTriggerError,
    LimitExceededError,
    NotAuthorizedError,
    RetryPolicy,
    ThrottledError,
    TransportError,
    UserNotFoundError,
)


@pytest.mark.parametrize("cls", [ThrottledError, InternalServerError, TransportError])
def test_transient_errors_are_retried_until_the_budget(cls: type[CognitoConfirmError]) -> None:
    """Throttling, server faults and transport errors get retries up to max_attempts."""
    policy = RetryPolicy(max_attempts=4)
    error = cls("x")
    assert [policy.should_retry(error, n) for n in range(1, 6)] == [True, True, True, False, False]


@pytest.mark.parametrize(
    "cls", [UserNotFoundError, NotAuthorizedError, LambdaTriggerError, CognitoConfirmError]
)
def test_final_errors_are_never_retried(cls: type[CognitoConfirmError]) -> None:
    """A user-level error is final at the first attempt."""
    assert not RetryPolicy().should_retry(cls("x"), 1)


def test_limit_exceeded_gets_few_attempts() -> None:
    """LimitExceededException can mean a daily limit: only limit_exceeded_attempts calls."""
    policy = RetryPolicy(max_attempts=10, limit_exceeded_attempts=3)
    error = LimitExceededError("x")
    assert [policy.should_retry(error, n) for n in (1, 2, 3)] == [True, True, False]


def test_backoff_is_jittered_exponential_and_capped() -> None:
    """Backoff stays within [0, min(max_delay, base * 2**(n-1))]."""
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    rng = random.Random(1)
    for attempts, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)]:
        delays = [policy.backoff(attempts, rng) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.8
    assert 0 <= policy.backoff(1) <= 0.5


def test_policy_rejects_nonsense() -> None:
    """A policy with no attempts or negative delays is refused."""
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(base_delay=-1)
