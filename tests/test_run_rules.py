"""Per-user or run-level, by rule: which failures are results and which stop a bulk run.

And the slow start: a run doomed from its first call costs one call, not ``concurrency``.
"""

from __future__ import annotations

import pytest

from cognito_confirm import (
    CognitoConfirmer,
    CognitoConfirmError,
    ConfirmResult,
    EndpointNotCognitoError,
    InvalidParameterError,
    LambdaTriggerError,
    NotAuthorizedError,
    NotConfirmableError,
    Outcome,
    RepeatedFailureError,
    RetryPolicy,
    UserNotFoundError,
    UserPoolNotFoundError,
)
from cognito_confirm._verdict import REPEATS, TRIGGER_START, Judge, about_one_user
from cognito_confirm.testing import FakeCognito
from tests.helpers import unpaced

FAST = RetryPolicy(max_attempts=3, base_delay=0.01)
NAMES = [f"u{n:03d}" for n in range(200)]


def confirmer(fake: FakeCognito, pool: str | None = None) -> CognitoConfirmer:
    return CognitoConfirmer(
        pool or fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=FAST, limiter=unpaced()
    )


async def test_unknown_pool_costs_exactly_one_call(fake: FakeCognito) -> None:
    """Slow start: an unknown pool is found by the first call, sent alone (was concurrency)."""
    async with confirmer(fake, "us-east-1_Other") as c:
        with pytest.raises(UserPoolNotFoundError) as caught:
            await c.confirm_many(NAMES, concurrency=16)
    assert fake.stats().requests["AdminConfirmSignUp"] == 1
    assert caught.value.partial_report is not None
    assert caught.value.partial_report.results == ()


@pytest.mark.parametrize(
    ("code", "status"),
    [("TeapotException", 418), ("SomethingNew", 403), ("UnknownOperationException", 400)],
)
async def test_an_unknown_error_for_every_user_stops_after_three(
    fake: FakeCognito, code: str, status: int
) -> None:
    """An unknown code (or one no user causes) for 3 users in a row stops the run: 3 calls."""
    fake.add_users(NAMES)
    fake.fail_all(code, status=status)
    got: list[ConfirmResult] = []

    async def run(c: CognitoConfirmer) -> None:
        async with c.stream(NAMES, concurrency=16) as results:
            async for result in results:
                got.append(result)

    async with confirmer(fake) as c:
        with pytest.raises(RepeatedFailureError) as caught:
            await run(c)
    assert [r.outcome for r in got] == [Outcome.FAILED] * REPEATS
    assert {r.error_code for r in got} == {code}
    error = caught.value
    assert (error.code, error.http_status, error.count) == (code, status, REPEATS)
    assert isinstance(error.error, CognitoConfirmError)
    assert error.__cause__ is error.error
    assert f"{REPEATS} users in a row failed with {code} (HTTP {status})" in str(error)
    assert sum(fake.stats().confirm_calls.values()) == REPEATS


async def test_a_mid_run_switch_to_an_unknown_error_stops_the_run(fake: FakeCognito) -> None:
    """Fanned out, a run whose endpoint turns to an unknown 403 stops with few calls lost."""
    fake.add_users(NAMES)
    fake.fail_all("WeirdProxyError", status=403, after=50)
    async with confirmer(fake) as c:
        with pytest.raises(RepeatedFailureError) as caught:
            await c.confirm_many(NAMES, concurrency=8)
    report = caught.value.partial_report
    assert report is not None
    assert report.counts[Outcome.CONFIRMED] == 50
    failed = report.counts[Outcome.FAILED]
    assert REPEATS <= failed <= REPEATS + 8
    assert sum(fake.stats().confirm_calls.values()) == 50 + failed


async def test_errors_about_one_user_never_stop_a_run(fake: FakeCognito) -> None:
    """Many unknown users, Lambda errors and not-confirmable users in a row are all results
    (Lambda errors short of TRIGGER_START: more, with no success, mean the trigger is broken)."""
    triggers = TRIGGER_START - 1
    fake.add_users([f"lambda{n}" for n in range(triggers)])
    fake.add_users([f"invited{n}" for n in range(10)], status="FORCE_CHANGE_PASSWORD")
    for n in range(triggers):
        fake.fail(f"lambda{n}", "UserLambdaValidationException")
    names = [
        *(f"ghost{n}" for n in range(10)),
        *(f"lambda{n}" for n in range(triggers)),
        *(f"invited{n}" for n in range(10)),
    ]
    async with confirmer(fake) as c:
        report = await c.confirm_many(names, concurrency=4)
    assert report.counts[Outcome.NOT_FOUND] == 10
    assert report.counts[Outcome.FAILED] == triggers
    assert report.counts[Outcome.NOT_CONFIRMABLE] == 10


async def test_a_success_between_unknown_errors_resets_the_count(fake: FakeCognito) -> None:
    """Two users fail with an odd code, one succeeds, two fail again: the run goes on."""
    names = ["a", "b", "ok1", "c", "d", "ok2"]
    fake.add_users(names)
    for name in ("a", "b", "c", "d"):
        fake.fail(name, "OddException", http_status=400)
    async with confirmer(fake) as c:
        report = await c.confirm_many(names, concurrency=1)
    assert [r.outcome for r in report.results] == [
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.CONFIRMED,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.CONFIRMED,
    ]


def test_the_rule_names_what_concerns_one_user() -> None:
    """The per-user list; InvalidParameter only when it names the user; others are not."""
    assert about_one_user(UserNotFoundError("User does not exist."))
    assert about_one_user(NotConfirmableError("... UNKNOWN", status="UNKNOWN"))
    assert about_one_user(LambdaTriggerError("PreSignUp failed"))
    assert about_one_user(InvalidParameterError("Username should be an email."))
    assert about_one_user(InvalidParameterError("Invalid username or alias."))
    assert not about_one_user(InvalidParameterError("User pool client abc does not exist."))
    assert not about_one_user(InvalidParameterError("Invalid ClientMetadata."))
    assert not about_one_user(NotAuthorizedError("Access to this API is not allowed."))
    assert not about_one_user(CognitoConfirmError("x", code="Odd"))


def test_the_judge_counts_one_code_in_a_row() -> None:
    """Different codes do not add up; the third of one code stops the run; a success resets."""
    judge = Judge()
    odd = CognitoConfirmError("x", code="Odd", http_status=400)
    other = CognitoConfirmError("y", code="Other", http_status=400)
    assert judge.verdict(odd) == (True, None)
    assert judge.verdict(other) == (True, None)
    assert judge.verdict(other) == (True, None)
    assert not judge.answered
    deliver, fatal = judge.verdict(other)
    assert deliver
    assert isinstance(fatal, RepeatedFailureError)
    assert judge.verdict(None) == (True, None)
    assert judge.answered
    assert judge.verdict(odd) == (True, None)
    setup = EndpointNotCognitoError("html")
    assert judge.verdict(setup) == (False, setup)
