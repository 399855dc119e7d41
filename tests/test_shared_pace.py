"""One pace per confirmer: confirm() and bulk runs share it; max_wait bounds a single confirm().

On virtual time (``tests.virtual_time``) with the fake in-process: the pace and max_wait's
deadlines run on the loop's clock, the same on any machine."""

from __future__ import annotations

import anyio
import pytest

from cognito_confirm import (
    AdaptiveRateLimiter,
    ClientStateError,
    CognitoConfirmer,
    Outcome,
    RetryPolicy,
    ThrottledError,
)
from cognito_confirm.testing import FakeCognito
from tests.helpers import unpaced
from tests.virtual_time import local_client, virtual_time


@pytest.fixture
def fake() -> FakeCognito:
    """A fake Cognito for this test, answering in-process (``local_client``)."""
    return FakeCognito()


FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.05)


def confirmer(fake: FakeCognito, **options: object) -> CognitoConfirmer:
    return CognitoConfirmer(
        fake.user_pool_id,
        client=local_client(fake),
        retry=FAST_RETRY,
        **options,  # type: ignore[arg-type]
    )


@virtual_time
async def test_confirm_and_stream_keep_one_pace(fake: FakeCognito) -> None:
    """A stream and single confirmations draw on the confirmer's one limiter."""
    fake.add_users([f"user{n}" for n in range(20)])
    async with confirmer(fake, limiter=unpaced(200.0)) as c:
        limiter = c.limiter
        reserved = []
        original = limiter.claim  # what reserve() and acquire() take their slots from

        def counting(max_wait: float | None = None) -> tuple[float | None, float]:
            slot, now = original(max_wait)
            reserved.append(slot)
            return slot, now

        limiter.claim = counting  # type: ignore[method-assign]
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(c.confirm, "user0")
            report = await c.confirm_many([f"user{n}" for n in range(1, 20)])
        assert report.ok
    assert len(reserved) == 20
    assert fake.stats().summary()["confirmations_total"] == 20


@virtual_time
async def test_a_limiter_given_to_a_run_replaces_the_confirmers(fake: FakeCognito) -> None:
    """stream(limiter=...) paces that run with the given limiter, not the confirmer's."""
    fake.add_users(["a", "b"])
    own = AdaptiveRateLimiter(100.0)
    async with confirmer(fake) as c:
        report = await c.confirm_many(["a", "b"], limiter=own)
        assert report.ok
        assert c.limiter is not own


@virtual_time
async def test_max_wait_raises_throttled_without_calling(fake: FakeCognito) -> None:
    """With a slot further away than max_wait, confirm() raises at once and sends nothing."""
    fake.add_users(["alice", "bob"])
    async with confirmer(fake, rate=1.0, max_wait=0.2) as c:
        first = await c.confirm("alice")
        assert first.outcome is Outcome.CONFIRMED
        for _ in range(10):  # other callers take the next ten slots: about 10 s of pace
            c.limiter.reserve()
        with pytest.raises(ThrottledError) as caught:
            await c.confirm("bob")
        wait = c.limiter.wait_time()
    error = caught.value
    assert error.code is None
    assert error.retry_after is not None
    assert 0.2 < error.retry_after == pytest.approx(wait, abs=0.1)
    assert "bob" not in str(error)
    assert fake.stats().confirm_calls.get("bob") is None
    assert fake.user_status("bob") == "UNCONFIRMED"


@virtual_time
async def test_max_wait_per_call_overrides_the_confirmers(fake: FakeCognito) -> None:
    """confirm(max_wait=...) waits for a slot the confirmer's default would not."""
    fake.add_users(["alice", "bob"])
    async with confirmer(fake, rate=5.0, max_wait=0.0) as c:
        await c.confirm("alice")
        result = await c.confirm("bob", max_wait=1.0)
    assert result.outcome is Outcome.CONFIRMED


@virtual_time
async def test_throttling_past_max_wait_carries_retry_after(fake: FakeCognito) -> None:
    """A throttled call whose backoff would end past max_wait gives up with retry_after."""
    fake.add_users(["alice"])
    fake.fail("alice", "TooManyRequestsException", times=None)
    slow_retry = RetryPolicy(base_delay=5.0, max_delay=5.0)
    async with CognitoConfirmer(
        fake.user_pool_id, client=local_client(fake), retry=slow_retry, max_wait=0.5
    ) as c:
        with pytest.raises(ThrottledError) as caught:
            await c.confirm("alice")
    assert caught.value.code == "TooManyRequestsException"
    assert caught.value.retry_after is not None
    assert fake.stats().confirm_calls["alice"] < slow_retry.max_attempts


def test_bad_pace_options() -> None:
    """Rates, reserves and waits outside their ranges are refused up front."""
    for rate in (0, -1.0, "fast", True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rate"):
            CognitoConfirmer("us-east-1_Abc", rate=rate)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reserve"):
        CognitoConfirmer("us-east-1_Abc", rate="auto", reserve=1.0)
    with pytest.raises(ValueError, match="max_wait"):
        CognitoConfirmer("us-east-1_Abc", max_wait=-1)


def test_auto_pace_is_known_only_once_open() -> None:
    """rate='auto' reads the quota when the confirmer opens; before that there is no limiter."""
    c = CognitoConfirmer("us-east-1_Abc", rate="auto")
    with pytest.raises(ClientStateError, match="auto"):
        _ = c.limiter
    assert c.quota is None
