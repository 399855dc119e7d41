"""One user's result is built in one place: confirm() and confirm_many() agree on every outcome."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from cognito_confirm import (
    CognitoConfirmer,
    CognitoConfirmError,
    ConfirmResult,
    InvalidUsernameError,
    Outcome,
    RetryPolicy,
)
from cognito_confirm.testing import FakeCognito

USERNAME = "alice"
SENT = {
    # outcome: (the user's status in the pool, or None for no such user; a scripted error)
    Outcome.CONFIRMED: ("UNCONFIRMED", None),
    Outcome.ALREADY_CONFIRMED: ("CONFIRMED", None),
    Outcome.NOT_CONFIRMABLE: ("FORCE_CHANGE_PASSWORD", None),
    Outcome.NOT_FOUND: (None, None),
    Outcome.FAILED: ("UNCONFIRMED", "UserLambdaValidationException"),
}
ABOUT_THE_INPUT = {Outcome.DUPLICATE, Outcome.SKIPPED}
"""Outcomes only a bulk run can have: they concern an input item, not a user's state."""
VARYING = ("elapsed", "request_id")
"""Fields that differ between any two calls, whoever makes them."""


def fields(result: ConfirmResult) -> dict[str, Any]:
    return {
        field.name: getattr(result, field.name)
        for field in dataclasses.fields(result)
        if field.name not in VARYING
    }


def error_fields(error: CognitoConfirmError) -> dict[str, Any]:
    """What confirm()'s error says, under the names a result gives the same facts."""
    return {
        "username": error.username,
        "error_code": error.code,
        "message": error.message,
        "user_status": getattr(error, "status", None),
    }


def set_state(fake: FakeCognito, status: str | None, failure: str | None) -> None:
    """Put the user in this state (again: add_user replaces, so each call starts alike)."""
    if status is not None:
        fake.add_user(USERNAME, status)
    if failure is not None:
        fake.fail(USERNAME, failure)


def test_every_outcome_is_compared() -> None:
    """A new outcome must be added here: sent, invalid, or about the input only."""
    assert {*SENT, Outcome.INVALID, *ABOUT_THE_INPUT} == set(Outcome)


@pytest.mark.parametrize("outcome", list(SENT), ids=str)
async def test_confirm_and_confirm_many_agree(fake: FakeCognito, outcome: Outcome) -> None:
    """The same user state gives the same fields from confirm() and from a bulk run."""
    status, failure = SENT[outcome]
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=RetryPolicy(max_attempts=1)
    ) as confirmer:
        set_state(fake, status, failure)
        try:
            single: ConfirmResult | CognitoConfirmError = await confirmer.confirm(USERNAME)
        except CognitoConfirmError as error:
            single = error
        set_state(fake, status, failure)
        (bulk,) = (await confirmer.confirm_many([USERNAME])).results
    assert bulk.outcome is outcome
    if isinstance(single, ConfirmResult):
        assert fields(single) == fields(bulk)
    else:
        assert not bulk.ok
        assert error_fields(single) == {key: fields(bulk)[key] for key in error_fields(single)}
        assert bulk.attempts == 1


async def test_an_invalid_username_is_refused_alike(fake: FakeCognito) -> None:
    """confirm() raises the very reason a bulk run reports, and neither sends anything."""
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as confirmer:
        with pytest.raises(InvalidUsernameError) as caught:
            await confirmer.confirm("has space")
        (bulk,) = (await confirmer.confirm_many(["has space"])).results
    assert bulk.outcome is Outcome.INVALID
    assert bulk.message == caught.value.message
    assert bulk.attempts == 0
    assert fake.stats().requests == {}


async def test_already_confirmed_reads_the_same_everywhere(fake: FakeCognito) -> None:
    """An already confirmed user: a success, with Cognito's code, its status and one message."""
    fake.add_user(USERNAME, "CONFIRMED")
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as confirmer:
        result = await confirmer.confirm(USERNAME)
    assert result.ok
    assert (result.error_code, result.user_status) == ("NotAuthorizedException", "CONFIRMED")
    assert result.message == "already confirmed"
