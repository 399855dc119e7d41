"""The bulk engine against the fake Cognito: quota, faults and a mixed population.

On virtual time (``tests.virtual_time``): the fake answers in-process on the test's loop, so
its quota, latency and the retries' backoff run on a clock the test owns, and every count below
is the same on a fast laptop and a loaded CI machine."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from cognito_confirm import (
    AdaptiveRateLimiter,
    CognitoConfirmer,
    ConfirmResult,
    EndpointUnreachableError,
    OperationNotEnabledError,
    Outcome,
    RetryPolicy,
    UserPoolNotFoundError,
)
from cognito_confirm.testing import FakeCognito
from tests.helpers import UNPACED, unpaced
from tests.virtual_time import local_client, virtual_time

FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.02, max_delay=0.5)


@pytest.fixture
def fake() -> FakeCognito:
    """A fake Cognito for this test, answering in-process (``confirmer``)."""
    return FakeCognito(seed=7)


def confirmer(
    fake: FakeCognito, retry: RetryPolicy = FAST_RETRY, rate: float = UNPACED
) -> CognitoConfirmer:
    return CognitoConfirmer(
        fake.user_pool_id, client=local_client(fake), retry=retry, limiter=unpaced(rate)
    )


@virtual_time
async def test_mixed_population_under_quota_and_faults(fake: FakeCognito) -> None:
    """Every input item gets exactly one correct result; attempts equal the calls made."""
    unconfirmed = [f"new{n:04d}" for n in range(400)]
    fake.add_users(unconfirmed)
    fake.add_users([f"old{n}" for n in range(20)], status="CONFIRMED")
    fake.add_users([f"invited{n}" for n in range(10)], status="FORCE_CHANGE_PASSWORD")
    fake.add_users([f"lambda{n}" for n in range(5)])
    for n in range(5):
        fake.fail(f"lambda{n}", "UserLambdaValidationException")
    fake.configure(quota=150, burst=10, latency=0.005, error_rate=0.01, drop_rate=0.02)
    names = [
        *unconfirmed,
        *[f"old{n}" for n in range(20)],
        *[f"invited{n}" for n in range(10)],
        *[f"lambda{n}" for n in range(5)],
        *[f"ghost{n}" for n in range(10)],
        "new0001",
        "old1",
        "bad name",
        "x" * 129,
        "ctl\x07",
    ]
    expected = {
        **dict.fromkeys(unconfirmed, Outcome.CONFIRMED),
        **{f"old{n}": Outcome.ALREADY_CONFIRMED for n in range(20)},
        **{f"invited{n}": Outcome.NOT_CONFIRMABLE for n in range(10)},
        **{f"lambda{n}": Outcome.FAILED for n in range(5)},
        **{f"ghost{n}": Outcome.NOT_FOUND for n in range(10)},
    }
    async with confirmer(fake, rate=300) as c:
        async with c.stream(names, concurrency=12) as results:
            got = [result async for result in results]
        limiter = results.limiter
    assert sorted(r.index for r in got) == list(range(len(names)))
    by_index = {r.index: r for r in got}
    for index, name in enumerate(names[: len(expected)]):
        result = by_index[index]
        assert result.username == name
        outcome = result.outcome
        # A dropped answer after Cognito confirmed the user turns the retry into "already".
        if expected[name] is Outcome.CONFIRMED:
            assert outcome in (Outcome.CONFIRMED, Outcome.ALREADY_CONFIRMED), result
        else:
            assert outcome is expected[name], (name, result)
    tail = [by_index[i].outcome for i in range(len(expected), len(names))]
    assert tail == [Outcome.DUPLICATE, Outcome.DUPLICATE, *[Outcome.INVALID] * 3]
    assert by_index[names.index("invited0")].user_status == "FORCE_CHANGE_PASSWORD"
    assert by_index[names.index("lambda0")].error_code == "UserLambdaValidationException"

    stats = fake.stats()
    assert all(fake.user_status(name) == "CONFIRMED" for name in unconfirmed)
    assert max(stats.confirmations.values()) == 1
    for result in got:
        assert result.attempts == stats.confirm_calls.get(result.username, 0) or (
            result.outcome is Outcome.DUPLICATE
        ), result
    assert stats.throttled > 0, "the quota was never hit: the test proves nothing"
    assert limiter.cuts >= 1
    assert stats.internal_errors > 0
    assert stats.dropped_before + stats.dropped_after > 0
    assert stats.max_in_flight <= 12


@virtual_time
async def test_throttled_users_are_retried_not_failed(fake: FakeCognito) -> None:
    """A user throttled several times is retried within the budget and ends confirmed."""
    fake.add_users(["patient", "doomed"])
    fake.fail("patient", "TooManyRequestsException", times=5)
    fake.fail("doomed", "TooManyRequestsException")
    async with confirmer(fake) as c:
        report = await c.confirm_many(["patient", "doomed"])
    patient, doomed = report.results
    assert (patient.outcome, patient.attempts) == (Outcome.CONFIRMED, 6)
    assert (doomed.outcome, doomed.attempts) == (Outcome.FAILED, FAST_RETRY.max_attempts)
    assert doomed.error_code == "TooManyRequestsException"


@virtual_time
async def test_only_transient_errors_are_retried(fake: FakeCognito) -> None:
    """LimitExceeded gets 3 calls; Lambda, NotAuthorized and InvalidParameter get one."""
    codes = {
        "limit": "LimitExceededException",
        "lambda": "UnexpectedLambdaException",
        "denied": "NotAuthorizedException",
        "param": "InvalidParameterException",
        "server": "InternalErrorException",
    }
    for name, code in codes.items():
        fake.add_user(name)
        fake.fail(name, code)
    async with confirmer(fake) as c:
        report = await c.confirm_many(list(codes))
    attempts = {r.username: r.attempts for r in report.results}
    assert attempts == {"limit": 3, "lambda": 1, "denied": 1, "param": 1, "server": 10}
    assert all(r.outcome is Outcome.FAILED for r in report.results)
    assert fake.stats().confirm_calls == attempts


@virtual_time
async def test_in_flight_never_exceeds_concurrency(fake: FakeCognito) -> None:
    """With latency, the engine fills exactly `concurrency` connections and no more."""
    names = [f"u{n}" for n in range(120)]
    fake.add_users(names)
    fake.configure(latency=0.02)
    async with confirmer(fake) as c:
        async with c.stream(names, concurrency=6) as results:
            count = sum([1 async for _ in results])
        assert results.max_in_flight == 6
    assert count == 120
    assert fake.stats().max_in_flight == 6


@virtual_time
async def test_setup_error_mid_run_keeps_finished_results(fake: FakeCognito) -> None:
    """An error that dooms the run stops it: finished results arrive, then the error."""
    names = [f"u{n:03d}" for n in range(300)]
    fake.add_users(names)
    fake.fail("u100", "OperationNotEnabledException")
    fake.configure(latency=0.002)
    read: list[int] = []

    def source() -> Iterator[str]:
        for n, name in enumerate(names):
            read.append(n)
            yield name

    got: list[ConfirmResult] = []

    async def run(c: CognitoConfirmer) -> None:
        async with c.stream(source(), concurrency=4) as results:
            async for result in results:
                got.append(result)

    async with confirmer(fake) as c:
        with pytest.raises(OperationNotEnabledError):
            await run(c)
    assert len(read) <= 100 + 4 + 4 + 4 + 2
    assert 96 <= len(got) < len(read)
    assert all(r.outcome is Outcome.CONFIRMED for r in got)
    confirmed = {name for name in names if fake.user_status(name) == "CONFIRMED"}
    assert {r.username for r in got} == confirmed  # nothing done that is not reported


@virtual_time
async def test_unknown_pool_from_confirm_many_carries_partial_report(
    fake: FakeCognito,
) -> None:
    """confirm_many's SetupError carries the results completed before it."""
    async with CognitoConfirmer("us-east-1_Other", client=local_client(fake)) as c:
        with pytest.raises(UserPoolNotFoundError) as caught:
            await c.confirm_many([f"u{n}" for n in range(50)], concurrency=2)
    assert caught.value.partial_report is not None
    assert fake.stats().requests["AdminConfirmSignUp"] <= 4


@virtual_time
async def test_cancellation_stops_cleanly_and_keeps_completed_results(
    fake: FakeCognito,
) -> None:
    """A cancelled run leaves no task or session behind and accounts for what completed."""
    names = [f"c{n:03d}" for n in range(500)]
    fake.add_users(names)
    fake.configure(latency=0.01)
    got: list[ConfirmResult] = []
    async with confirmer(fake) as c:
        with anyio.move_on_after(0.3) as scope:
            async with c.stream(names, concurrency=8) as results:
                async for result in results:
                    got.append(result)
        assert scope.cancelled_caught
        accounted = {r.username for r in [*got, *results.undelivered]}
        assert len(accounted) == len(got) + len(results.undelivered)
        confirmed = {name for name in names if fake.user_status(name) == "CONFIRMED"}
        # Calls cut short by the cancellation may have reached Cognito: at most one per worker.
        assert accounted <= confirmed
        assert len(confirmed - accounted) <= 8
        assert 0 < len(got) < 500
        # The client survives a cancelled run.
        assert (await c.confirm("c499")).outcome is Outcome.CONFIRMED


@virtual_time
async def test_breaking_out_early_cancels_the_rest(fake: FakeCognito) -> None:
    """Leaving the loop with break ends the run; nothing keeps running afterwards."""
    names = [f"b{n}" for n in range(200)]
    fake.add_users(names)
    async with confirmer(fake) as c:
        async with c.stream(names, concurrency=4) as results:
            async for _ in results:
                break
    # Requests already on the wire when the block was left may still land; then nothing more.
    await anyio.sleep(0.05)
    calls = fake.stats().requests["AdminConfirmSignUp"]
    await anyio.sleep(0.1)
    assert fake.stats().requests["AdminConfirmSignUp"] == calls
    assert calls < 20


@virtual_time
async def test_results_are_counted_once(fake: FakeCognito) -> None:
    """Duplicates in a large input are reported once each, never sent, and nothing is lost."""
    names = [f"d{n % 150}" for n in range(600)]
    fake.add_users({*names})
    async with confirmer(fake) as c:
        report = await c.confirm_many(names, concurrency=10)
    counts = Counter(r.outcome for r in report.results)
    assert counts == {Outcome.CONFIRMED: 150, Outcome.DUPLICATE: 450}
    assert report.ok
    assert sum(fake.stats().confirm_calls.values()) == 150


async def test_unreachable_endpoint_stops_the_run(fake: FakeCognito) -> None:
    """A run that never reaches Cognito raises one EndpointUnreachableError, not N failures."""
    names = [f"u{n}" for n in range(100)]
    async with CognitoConfirmer(
        "us-east-1_Abc",
        endpoint_url="http://127.0.0.1:9",
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    ) as c:
        with pytest.raises(EndpointUnreachableError, match="no answer"):
            await c.confirm_many(names, concurrency=2)


@virtual_time
async def test_transport_failures_after_answers_are_per_user(fake: FakeCognito) -> None:
    """Once Cognito has answered, a user whose calls all drop is one failed result."""
    fake.add_users(["first", "second"])
    async with confirmer(fake, retry=RetryPolicy(max_attempts=2, base_delay=0.01)) as c:
        async with c.stream(["first", "second"], concurrency=1) as results:
            first = await results.__anext__()
            fake.configure(drop_rate=1.0)
            second = await results.__anext__()
    assert first.outcome is Outcome.CONFIRMED
    assert (second.outcome, second.attempts) == (Outcome.FAILED, 2)


@virtual_time
async def test_runs_can_share_one_limiter(fake: FakeCognito) -> None:
    """Two concurrent runs given one limiter draw from one pace."""
    fake.add_users([f"p{n}" for n in range(20)])
    shared = AdaptiveRateLimiter(1000.0)
    async with confirmer(fake) as c, anyio.create_task_group() as group:
        for half in (range(10), range(10, 20)):
            group.start_soon(
                lambda names: c.confirm_many(names, limiter=shared), [f"p{n}" for n in half]
            )
        async with c.stream(["p0"], limiter=shared) as results:
            assert results.limiter is shared
    assert all(fake.user_status(f"p{n}") == "CONFIRMED" for n in range(20))


@virtual_time
async def test_async_generator_input_is_closed_when_the_run_ends_early(
    fake: FakeCognito,
) -> None:
    """Breaking out of a run closes an async generator input at once (its finally runs)."""
    fake.add_users([f"g{n}" for n in range(100)])
    closed = anyio.Event()

    async def source() -> AsyncIterator[str]:
        try:
            for n in range(100):
                yield f"g{n}"
        finally:
            closed.set()

    async with confirmer(fake) as c:
        async with c.stream(source(), concurrency=2) as results:
            async for _ in results:
                break
        assert closed.is_set()
