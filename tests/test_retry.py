"""The retry policy retries what is transient, and only that; the one loop reports every call."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import botocore.exceptions
import pytest

from cognito_confirm import (
    AdaptiveRateLimiter,
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
from cognito_confirm._retry import call_with_retries


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


class Recorder(AdaptiveRateLimiter):
    """A pacer (fast enough not to matter) that notes what the loop tells it."""

    def __init__(self) -> None:
        super().__init__(10_000.0)
        self.reports: list[str] = []

    def throttled(self, sent_at: float) -> None:
        self.reports.append("throttled")
        super().throttled(sent_at)

    def answered(self, sent_at: float) -> None:
        self.reports.append("answered")
        super().answered(sent_at)


def client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    answer: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": f"req-{code}"},
    }
    return botocore.exceptions.ClientError(answer, "AdminConfirmSignUp")


def scripted(*answers: object) -> Callable[[], Awaitable[object]]:
    """An operation that raises or returns each answer in turn."""
    remaining = list(answers)

    async def operation() -> object:
        answer = remaining.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return operation


async def test_the_loop_tells_the_pacer_how_each_call_went() -> None:
    """Throttled: throttled(); answered by Cognito: answered(); no answer: nothing."""
    limiter = Recorder()
    attempts = await call_with_retries(
        scripted(
            client_error("ThrottlingException", 400),
            client_error("InternalErrorException", 500),
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            {"ResponseMetadata": {"RequestId": "req-ok"}},
        ),
        policy=RetryPolicy(base_delay=0.001),
        limiter=limiter,
        rng=random.Random(1),
    )
    assert limiter.reports == ["throttled", "answered", "answered"]
    assert limiter.throttles == 1
    assert (attempts.attempts, attempts.error, attempts.request_id) == (4, None, "req-ok")
    assert attempts.unwrap() == {"ResponseMetadata": {"RequestId": "req-ok"}}


async def test_a_final_error_ends_the_loop_and_is_kept() -> None:
    """An error about the user is not retried: it comes back with its attempts, unraised."""
    limiter = Recorder()
    attempts = await call_with_retries(
        scripted(client_error("UserNotFoundException", 400)),
        policy=RetryPolicy(),
        limiter=limiter,
        rng=random.Random(1),
        username="alice",
    )
    assert limiter.reports == ["answered"]
    assert isinstance(attempts.error, UserNotFoundError)
    assert attempts.error.username == "alice"
    assert (attempts.attempts, attempts.request_id) == (1, "req-UserNotFoundException")
    with pytest.raises(UserNotFoundError):
        attempts.unwrap()
