"""Issue #17's library cases: each test failed before its fix.

On virtual time (``tests.virtual_time``), the fake answering in-process on the test's loop:
the runs of 300 and 400 users keep the default pace without waiting for it. Over HTTP only
what needs it: an answer only bytes on the wire carry, and a real client used from another
event loop.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import anyio
import pytest

from cognito_confirm import (
    ClientStateError,
    CognitoConfirmer,
    ConfirmResult,
    EndpointNotCognitoError,
    InvalidClientMetadataError,
    LambdaTriggerError,
    Outcome,
    RepeatedFailureError,
    RetryPolicy,
    SetupError,
    TriggerFailingError,
)
from cognito_confirm._verdict import TRIGGER_START, TRIGGER_WINDOW
from cognito_confirm.testing import FakeCognito
from tests.virtual_time import local_client, virtual_time

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def fake() -> FakeCognito:
    """A fake Cognito for this test, answering in-process (``confirmer``)."""
    return FakeCognito(seed=3)


@pytest.fixture
def http_fake() -> Iterator[FakeCognito]:
    """A fake Cognito endpoint for this test, over HTTP (``http_confirmer``)."""
    with FakeCognito(seed=3) as server:
        yield server


def confirmer(fake: FakeCognito, *, case_sensitive: bool = True) -> CognitoConfirmer:
    """The fake in-process, on the running loop's clock."""
    return CognitoConfirmer(
        fake.user_pool_id,
        client=local_client(fake),
        retry=FAST_RETRY,
        rate=None,
        case_sensitive=case_sensitive,
    )


def http_confirmer(fake: FakeCognito) -> CognitoConfirmer:
    return CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, retry=FAST_RETRY, rate=None
    )


@virtual_time
async def test_a_case_insensitive_pool_sends_each_user_once(fake: FakeCognito) -> None:
    """With case_sensitive=False, Alice, alice and ALICE are one user: one call, two duplicates."""
    fake.add_users(["Alice", "bob"])
    names = ["Alice", "alice", "ALICE", "bob", "Bob", "Alice"]
    async with confirmer(fake, case_sensitive=False) as c:
        report = await c.confirm_many(names)
    by_index = {r.index: r.outcome for r in report.results}
    assert by_index == {
        0: Outcome.CONFIRMED,
        1: Outcome.DUPLICATE,
        2: Outcome.DUPLICATE,
        3: Outcome.CONFIRMED,
        4: Outcome.DUPLICATE,
        5: Outcome.DUPLICATE,
    }
    assert fake.stats().confirm_calls == {"Alice": 1, "bob": 1}


@virtual_time
async def test_a_case_sensitive_pool_sends_every_spelling(fake: FakeCognito) -> None:
    """By default (the API's default, CaseSensitive true) each spelling is its own user."""
    fake.add_users(["Alice", "alice"])
    async with confirmer(fake) as c:
        report = await c.confirm_many(["Alice", "alice", "ALICE"])
    counts = Counter(r.outcome for r in report.results)
    assert counts == {Outcome.CONFIRMED: 2, Outcome.NOT_FOUND: 1}
    assert sum(fake.stats().confirm_calls.values()) == 3


async def test_an_empty_200_body_is_no_confirmation(http_fake: FakeCognito) -> None:
    """HTTP 200 with request id and JSON type but no body: not confirmed (Cognito sends {})."""
    http_fake.add_users(["alice", "bob", "carol"])
    http_fake.answer_html(200, body="", content_type="application/x-amz-json-1.1", request_id=True)
    async with http_confirmer(http_fake) as c:
        with pytest.raises(EndpointNotCognitoError, match="an empty body"):
            await c.confirm("alice")
        with pytest.raises(EndpointNotCognitoError) as raised:
            await c.confirm_many(["alice", "bob", "carol"])
    report = raised.value.partial_report
    assert report is not None
    assert report.counts[Outcome.CONFIRMED] == 0
    assert http_fake.user_status("alice") == "UNCONFIRMED"


@virtual_time
async def test_repeated_failure_names_no_user(fake: FakeCognito) -> None:
    """The server's message naming each user stays out of RepeatedFailureError's text."""
    names = ["alice.secret", "bob.secret", "carol.secret", "dave.secret"]
    fake.add_users(names)
    for name in names:
        fake.fail(name, "WeirdException", message=f"cannot handle {name} today")
    async with confirmer(fake) as c:
        with pytest.raises(RepeatedFailureError) as raised:
            await c.confirm_many(names, concurrency=1)
    assert "secret" not in str(raised.value)
    assert raised.value.error.message.startswith("cannot handle")  # kept, for DEBUG


@virtual_time
async def test_a_server_message_quoting_the_user_is_scrubbed_in_str(fake: FakeCognito) -> None:
    """str() of a per-user error never shows the username, even when Cognito's message has it."""
    fake.add_user("erin.secret")
    fake.fail("erin.secret", "UserLambdaValidationException", message="erin.secret is banned")
    async with confirmer(fake) as c:
        with pytest.raises(LambdaTriggerError) as raised:
            await c.confirm("erin.secret")
    assert "secret" not in str(raised.value)
    assert raised.value.username == "erin.secret"


@virtual_time
async def test_a_skip_check_that_raises_comes_out_unwrapped(fake: FakeCognito) -> None:
    """A skip= callback's own exception ends the run as itself, like an input's, not a group."""
    names = [f"u{n}" for n in range(20)]
    fake.add_users(names)

    def skip(name: str) -> str | None:
        if name == "u10":
            msg = "the resume file went away"
            raise OSError(msg)
        return None

    got: list[ConfirmResult] = []
    async with confirmer(fake) as c:
        with pytest.raises(OSError, match="the resume file went away"):
            async with c.stream(names, skip=skip, concurrency=4) as results:
                got.extend([result async for result in results])
    assert len(got) <= 10
    assert "u10" not in fake.stats().confirm_calls


async def test_a_confirmer_used_from_another_event_loop_says_so(http_fake: FakeCognito) -> None:
    """From a second loop (another thread's asyncio.run): ClientStateError, nothing sent."""
    http_fake.add_user("alice")
    async with http_confirmer(http_fake) as c:

        def elsewhere() -> None:
            asyncio.run(c.confirm("alice"))

        with pytest.raises(ClientStateError, match="another event loop"):
            await anyio.to_thread.run_sync(elsewhere)
        assert http_fake.stats().confirm_calls == {}
        assert (await c.confirm("alice")).outcome is Outcome.CONFIRMED


@pytest.mark.parametrize("metadata", [{"source": 12345}, {"source": ["pa55word"]}, {7: "x"}, "x=y"])
@virtual_time
async def test_client_metadata_that_is_not_strings_is_refused_before_any_call(
    fake: FakeCognito, metadata: object
) -> None:
    """Non-string ClientMetadata: InvalidClientMetadataError (a ValueError), value never shown."""
    fake.add_users(["alice", "bob", "carol", "dave"])
    async with confirmer(fake) as c:
        with pytest.raises(InvalidClientMetadataError) as one:
            await c.confirm("alice", client_metadata=metadata)  # type: ignore[arg-type]
        with pytest.raises(InvalidClientMetadataError) as many:
            await c.confirm_many(["alice", "bob", "carol", "dave"], client_metadata=metadata)  # type: ignore[arg-type]
    for raised in (one, many):
        assert isinstance(raised.value, ValueError)
        assert "12345" not in str(raised.value)
        assert "pa55word" not in str(raised.value)
    if isinstance(metadata, dict) and "source" in metadata:
        assert "'source'" in str(one.value)
    assert fake.stats().confirm_calls == {}


@virtual_time
async def test_a_trigger_that_fails_for_everyone_stops_the_run(fake: FakeCognito) -> None:
    """Every user's trigger fails: TriggerFailingError after TRIGGER_START users, not 300."""
    names = [f"secret{n}" for n in range(300)]
    fake.add_users(names)
    for name in names:
        fake.fail(name, "UserLambdaValidationException", message=f"welcome mail to {name} failed")
    async with confirmer(fake) as c:
        with pytest.raises(TriggerFailingError, match="UserLambdaValidationException") as raised:
            await c.confirm_many(names, concurrency=4)
    assert "secret" not in str(raised.value)
    assert isinstance(raised.value, SetupError)
    assert raised.value.failed >= TRIGGER_START
    assert sum(fake.stats().confirm_calls.values()) < TRIGGER_START + 8


@virtual_time
async def test_a_trigger_that_starts_failing_mid_run_stops_it(fake: FakeCognito) -> None:
    """A trigger that breaks after 100 good users stops within a window, not 300 later."""
    names = [f"user{n}" for n in range(400)]
    fake.add_users(names)
    for name in names[100:]:
        fake.fail(name, "UnexpectedLambdaException")
    async with confirmer(fake) as c:
        with pytest.raises(TriggerFailingError) as raised:
            await c.confirm_many(names, concurrency=4)
    report = raised.value.partial_report
    assert report is not None
    assert report.counts[Outcome.CONFIRMED] == 100
    assert raised.value.judged == TRIGGER_WINDOW
    assert sum(fake.stats().confirm_calls.values()) < 100 + TRIGGER_WINDOW + 8


@virtual_time
async def test_a_trigger_that_fails_for_every_fifth_user_does_not_stop_the_run(
    fake: FakeCognito,
) -> None:
    """One user in five failing in the trigger: those fail, the run goes on to the end."""
    names = [f"user{n}" for n in range(300)]
    fake.add_users(names)
    for name in names[::5]:
        fake.fail(name, "UserLambdaValidationException")
    async with confirmer(fake) as c:
        report = await c.confirm_many(names, concurrency=4)
    assert report.counts[Outcome.FAILED] == 60
    assert report.counts[Outcome.CONFIRMED] == 240
