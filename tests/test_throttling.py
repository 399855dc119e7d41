"""Throttling slows the pacer of the path it hit, whichever code Cognito throttled with.

Cognito throttles with ``TooManyRequestsException``; AWS's common ``ThrottlingException`` means
the same. Both become a ``ThrottledError``, and the one retry loop tells the path's pacer about
every throttled call: AdminConfirmSignUp (``confirm()`` and bulk runs), ListUsers
(``--from-pool``) and AdminUpdateUserAttributes (``--verify-email``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, cast

import botocore.exceptions
import pytest

from cognito_confirm import AdaptiveRateLimiter, CognitoConfirmer, Outcome, RetryPolicy
from cognito_confirm.cli.userpool import EmailVerifier, UnconfirmedUsers
from cognito_confirm.testing import FakeCognito

CODES = ["TooManyRequestsException", "ThrottlingException"]
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.01)


class ThrottledOnce:
    """A cognito-idp client whose every operation is throttled once with ``code``, then works."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.calls: Counter[str] = Counter()

    async def _answer(self, operation: str, response: dict[str, Any]) -> dict[str, Any]:
        self.calls[operation] += 1
        if self.calls[operation] == 1:
            answer: Any = {
                "Error": {"Code": self.code, "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": "req-1"},
            }
            raise botocore.exceptions.ClientError(answer, operation)
        return response

    async def list_users(self, **_: Any) -> dict[str, Any]:
        return await self._answer("ListUsers", {"Users": [{"Username": "alice"}]})

    async def admin_update_user_attributes(self, **_: Any) -> dict[str, Any]:
        return await self._answer("AdminUpdateUserAttributes", {})


@pytest.mark.parametrize("code", CODES)
async def test_a_bulk_run_slows_down(fake: FakeCognito, code: str) -> None:
    """AdminConfirmSignUp in a bulk run: each throttled call reaches the run's pacer."""
    fake.add_user("alice")
    fake.fail("alice", code, times=2)
    limiter = AdaptiveRateLimiter(1000.0)
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=FAST_RETRY
    ) as confirmer:
        (result,) = (await confirmer.confirm_many(["alice"], limiter=limiter)).results
    assert (result.outcome, result.attempts) == (Outcome.CONFIRMED, 3)
    assert limiter.throttles == 2


@pytest.mark.parametrize("code", CODES)
async def test_a_single_confirmation_slows_the_confirmers_pace(
    fake: FakeCognito, code: str
) -> None:
    """confirm(): each throttled call reaches the confirmer's own pacer."""
    fake.add_user("alice")
    fake.fail("alice", code, times=2)
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=FAST_RETRY
    ) as confirmer:
        result = await confirmer.confirm("alice")
        throttles = confirmer.limiter.throttles
    assert (result.outcome, result.attempts) == (Outcome.CONFIRMED, 3)
    assert throttles == 2


@pytest.mark.parametrize("code", CODES)
async def test_listing_the_pool_slows_down(code: str) -> None:
    """ListUsers (--from-pool): a throttled page reaches the listing's pacer, then is read."""
    client = ThrottledOnce(code)
    source = UnconfirmedUsers(cast(Any, client), "us-east-1_Pool1", rate=1000.0, retry=FAST_RETRY)
    assert await source.__anext__() == "alice"
    await source.aclose()
    assert client.calls["ListUsers"] == 2
    assert source.limiter.throttles == 1


@pytest.mark.parametrize("code", CODES)
async def test_verifying_emails_slows_down(code: str) -> None:
    """AdminUpdateUserAttributes (--verify-email): a throttled call reaches its own pacer."""
    client = ThrottledOnce(code)
    verifier = EmailVerifier(cast(Any, client), "us-east-1_Pool1", rate=1000.0, retry=FAST_RETRY)
    assert (await verifier.verify("alice")).verified is True
    assert client.calls["AdminUpdateUserAttributes"] == 2
    assert verifier.limiter.throttles == 1
