"""Outages pause a run, they do not fail its users; an endpoint that never answers is bounded.

The fake goes dark mid-run (connections refused, dropped, or left hanging). With a retry budget
far shorter than the outage (as the default policy's ~11 s is to a 60 s outage), every user in
flight would end ``failed`` without the gate; with it, nobody does.

On virtual time (``tests.virtual_time``), with the fake answering in-process on the test's
loop: the outages, budgets, backoff and the client's read timeout all run on the loop's clock,
so the durations asserted here are loop seconds, the same on any machine, and an outage of
8 s takes milliseconds.
"""

from __future__ import annotations

from collections import Counter

import anyio
import pytest

from cognito_confirm import (
    CognitoConfirmer,
    ConfirmResult,
    EndpointUnreachableError,
    Outcome,
    RetryPolicy,
    ThrottledError,
    TransportError,
)
from cognito_confirm._gate import CallGate
from cognito_confirm.testing import FakeCognito
from tests.helpers import unpaced
from tests.virtual_time import local_client, virtual_time

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
"""A retry budget of well under a second: any outage of seconds outlasts it."""
READ_TIMEOUT = 0.5
NAMES = [f"u{n:03d}" for n in range(150)]


@pytest.fixture
def fake() -> FakeCognito:
    """A fake Cognito for this test, answering in-process (``confirmer``)."""
    return FakeCognito()


def confirmer(fake: FakeCognito, retry: RetryPolicy = FAST) -> CognitoConfirmer:
    client = local_client(fake, read_timeout=READ_TIMEOUT)
    return CognitoConfirmer(fake.user_pool_id, client=client, retry=retry, limiter=unpaced())


async def run_all(
    fake: FakeCognito, *, retry: RetryPolicy = FAST, outage_budget: float = 300.0
) -> tuple[list[ConfirmResult], list[float]]:
    """Confirm NAMES at concurrency 8; the results, and the outage readings seen meanwhile."""
    got: list[ConfirmResult] = []
    outages: list[float] = []
    async with confirmer(fake, retry) as c:
        async with c.stream(NAMES, concurrency=8, outage_budget=outage_budget) as results:
            async with anyio.create_task_group() as watch:

                async def watcher() -> None:
                    while True:
                        if results.outage is not None:
                            outages.append(results.outage)
                        await anyio.sleep(0.1)

                watch.start_soon(watcher)
                async for result in results:
                    got.append(result)
                watch.cancel_scope.cancel()
    return got, outages


@pytest.mark.parametrize("mode", ["refuse", "drop", "hang"])
@virtual_time
async def test_an_outage_mid_run_fails_nobody(fake: FakeCognito, mode: str) -> None:
    """Dark for 2 s after 40 calls (any mode): every user confirmed, none failed, run held."""
    fake.add_users(NAMES)
    fake.configure(latency=0.005)
    fake.go_dark(2.0, mode=mode, after=40)  # type: ignore[arg-type]
    started = anyio.current_time()
    got, outages = await run_all(fake)
    counts = Counter(r.outcome for r in got)
    assert counts[Outcome.FAILED] == 0, [r.message for r in got if not r.ok][:3]
    assert counts[Outcome.CONFIRMED] + counts[Outcome.ALREADY_CONFIRMED] == len(NAMES)
    assert sorted(r.index for r in got) == list(range(len(NAMES)))
    assert anyio.current_time() - started >= 2.0
    assert outages, "the stream never said it was held in an outage"
    assert fake.status_counts() == {"CONFIRMED": len(NAMES)}
    # Held, not hammered: the in-flight calls that met the outage, a retry or two of those
    # before two users' failures shut the gate, then one probe at a time (10-12 seen, on
    # virtual time the same on any machine). Without the gate the 8 workers retry on their own
    # for the whole 2 s.
    assert fake.stats().dark_requests <= 2 * 8


@virtual_time
async def test_the_same_outage_fails_users_without_the_gate(fake: FakeCognito) -> None:
    """Control: the confirm() loop, which has no gate, fails users caught by the same outage."""
    fake.add_users(NAMES[:8])
    fake.go_dark(2.0, mode="refuse")
    async with confirmer(fake) as c:
        for name in NAMES[:8]:
            with pytest.raises(TransportError):
                await c.confirm(name)


@virtual_time
async def test_an_outage_past_its_budget_stops_the_run(fake: FakeCognito) -> None:
    """Dark for good: after outage_budget s the run stops with EndpointUnreachableError, with
    every result delivered first; users held in the outage get none (a resume sends them)."""
    fake.add_users(NAMES)
    fake.go_dark(mode="drop", after=30)
    started = anyio.current_time()
    got: list[ConfirmResult] = []

    async def run(c: CognitoConfirmer) -> None:
        async with c.stream(NAMES, concurrency=8, outage_budget=1.5) as results:
            async for result in results:
                got.append(result)

    async with confirmer(fake) as c:
        with pytest.raises(EndpointUnreachableError, match="outage budget 2 s") as caught:
            await run(c)
    assert 1.5 <= anyio.current_time() - started < 10
    assert "every result so far was delivered" in str(caught.value)
    assert [r.message for r in got if r.outcome is not Outcome.CONFIRMED] == []
    assert 30 - 8 <= len(got) <= 30
    confirmed = {name for name in NAMES if fake.user_status(name) == "CONFIRMED"}
    assert {r.username for r in got} == confirmed


@virtual_time
async def test_confirm_many_waits_out_http_500_on_every_call(fake: FakeCognito) -> None:
    """5xx on every call is an outage too: held, then confirmed once the endpoint heals."""
    fake.add_users(NAMES)

    async def heal_later() -> None:
        await anyio.sleep(1.5)
        fake.heal()

    fake.fail_all("InternalErrorException", status=500, after=20)
    async with confirmer(fake) as c, anyio.create_task_group() as group:
        group.start_soon(heal_later)
        report = await c.confirm_many(NAMES, concurrency=8)
    assert report.counts[Outcome.FAILED] == 0
    assert report.ok


@virtual_time
async def test_one_user_that_always_gets_500_is_one_failure_not_an_outage(
    fake: FakeCognito,
) -> None:
    """A user whose calls all fail while others succeed fails alone; the run goes on."""
    fake.add_users(NAMES[:20])
    fake.fail(NAMES[10], "InternalErrorException")
    async with confirmer(fake) as c:
        report = await c.confirm_many(NAMES[:20], concurrency=1)
    assert [r.username for r in report.failures] == [NAMES[10]]
    assert report.failures[0].attempts == FAST.max_attempts
    assert report.counts[Outcome.CONFIRMED] == 19


@virtual_time
async def test_a_real_outage_of_eight_seconds(fake: FakeCognito) -> None:
    """8 s of refused connections mid-run with a policy whose budget lasts about 1.5 s: 0 users
    failed, and the run took the outage plus a probe wait (loop seconds: 14.1)."""
    fake.add_users(NAMES)
    fake.configure(latency=0.01)
    fake.go_dark(8.0, mode="refuse", after=60)
    retry = RetryPolicy(max_attempts=5, base_delay=0.2, max_delay=2.0)
    started = anyio.current_time()
    client = local_client(fake, read_timeout=READ_TIMEOUT)
    async with CognitoConfirmer(fake.user_pool_id, client=client, retry=retry, rate=100) as c:
        report = await c.confirm_many(NAMES, concurrency=8)
    elapsed = anyio.current_time() - started
    assert report.counts[Outcome.FAILED] == 0
    assert report.ok
    assert 8.0 <= elapsed < 8.0 + 5.0 + 5.0  # the outage, one probe wait, the run itself


@virtual_time
async def test_retry_policy_timeout_bounds_a_user(fake: FakeCognito) -> None:
    """timeout= ends a user throttled forever, and cuts a call left hanging."""
    fake.add_users(["busy", "hung"])
    fake.fail("busy", "TooManyRequestsException")
    policy = RetryPolicy(max_attempts=100, base_delay=0.05, max_delay=0.1, timeout=0.5)
    client = local_client(fake, read_timeout=READ_TIMEOUT)
    async with CognitoConfirmer(fake.user_pool_id, client=client, retry=policy, max_wait=None) as c:
        fake.go_dark(mode="hang")
        started = anyio.current_time()
        with pytest.raises(TransportError, match="retry policy's timeout"):
            await c.confirm("hung")
        assert 0.4 <= anyio.current_time() - started < 1.5
        fake.heal()
        started = anyio.current_time()
        with pytest.raises(ThrottledError):
            await c.confirm("busy")  # 100 attempts at a pace cut to 0.5/s: minutes unbounded
        assert anyio.current_time() - started < 2.0  # bounded by the timeout, not by minutes


def test_retry_policy_timeout_is_checked() -> None:
    """A timeout is a positive finite number of seconds, or None."""
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="timeout"):
            RetryPolicy(timeout=bad)
    assert RetryPolicy().timeout is None
    with pytest.raises(ValueError, match="outage_budget"):
        CallGate(outage_budget=float("nan"))


async def test_a_black_hole_from_the_start_is_bounded_by_the_budget(fake: FakeCognito) -> None:
    """Hanging from the first call, budget 1 s, 8 attempts of 0.5 s timeouts allowed: the run
    stops with EndpointUnreachableError after the calls the budget allows, not all 8, and no
    user is reported failed."""
    fake.add_users(NAMES)
    fake.go_dark(mode="hang")
    patient = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.02, timeout=None)
    got: list[ConfirmResult] = []
    async with confirmer(fake, patient) as c:
        with pytest.raises(EndpointUnreachableError):
            async with c.stream(NAMES, concurrency=8, outage_budget=1.0) as results:
                got.extend([result async for result in results])
    assert got == []
    assert fake.stats().dark_requests <= 3
