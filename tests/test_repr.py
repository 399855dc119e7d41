"""What the public objects print as, and what the library logs: never a username or a secret."""

from __future__ import annotations

import logging

import anyio
import pytest

from cognito_confirm import AdaptiveRateLimiter, CognitoConfirmer
from cognito_confirm._gate import CallGate
from cognito_confirm.testing import FakeCognito

SECRET = "wJalrXUtnFEMI-K7MDENG-REPR-SECRET"
NAMES = [f"private.user{n}@example.com" for n in range(6)]


def test_limiter_repr_shows_rate_ceiling_and_cuts() -> None:
    """The pacer shows its pace, its ceiling (None: none) and how often it was cut."""
    now = [0.0]
    limiter = AdaptiveRateLimiter(40, clock=lambda: now[0])
    assert repr(limiter) == "<AdaptiveRateLimiter rate=40.0/s max_rate=40/s cuts=0 throttles=0>"
    now[0] = 10.0
    limiter.throttled(10.0)
    assert "cuts=1 throttles=1>" in repr(limiter)
    assert "max_rate=None" in repr(AdaptiveRateLimiter(None))


async def test_confirmer_repr_through_its_lifetime(
    fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pool id, region, state and pace, from unopened to closed; no endpoint, no credentials."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    confirmer = CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url, rate=25)
    expected = f"<CognitoConfirmer user_pool_id={fake.user_pool_id!r} region='us-east-1' state="
    assert repr(confirmer) == f"{expected}unopened rate=25.0/s max_rate=25/s>"
    async with confirmer:
        assert repr(confirmer) == f"{expected}open rate=25.0/s max_rate=25/s>"
    assert repr(confirmer).startswith(f"{expected}closed ")
    for shown in (repr(confirmer), str(confirmer)):
        assert fake.endpoint_url not in shown
        assert SECRET not in shown
    auto = CognitoConfirmer(fake.user_pool_id, rate="auto")
    assert repr(auto).endswith("state=unopened rate=auto>")


async def test_stream_repr_shows_progress_never_a_username(fake: FakeCognito) -> None:
    """Concurrency, items read, calls in flight and state; none of the usernames it holds."""
    fake.add_users(NAMES)
    fake.configure(latency=0.2)
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, rate=None
    ) as confirmer:
        stream = confirmer.stream(NAMES, concurrency=4)
        assert repr(stream) == "<ResultStream concurrency=4 read=0 in_flight=0 state=unentered>"
        async with stream:
            first = await anext(stream)
            shown = repr(stream)
            assert shown.startswith("<ResultStream concurrency=4 read=")
            assert shown.endswith("state=running>")
            stream.stop()
            assert repr(stream).endswith("state=stopping>")
            async for _ in stream:
                pass
        assert repr(stream).endswith("state=closed>")
    assert first.username in NAMES
    for name in NAMES:
        assert name not in shown


async def test_info_logs_say_how_the_run_goes_without_usernames(
    fake: FakeCognito, caplog: pytest.LogCaptureFixture
) -> None:
    """At INFO: the client opened, the run started and ended, the pace cut; usernames at DEBUG."""
    fake.add_users(NAMES)
    fake.fail(NAMES[1], "TooManyRequestsException", times=1)
    caplog.set_level(logging.DEBUG, logger="cognito_confirm")
    async with CognitoConfirmer(
        fake.user_pool_id, endpoint_url=fake.endpoint_url, rate=None
    ) as confirmer:
        with anyio.fail_after(30):
            await confirmer.confirm_many(NAMES, concurrency=2)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(line.startswith("confirmer open: user pool") for line in info)
    assert any(line.startswith("bulk run starting: concurrency 2") for line in info)
    assert any(line.startswith("bulk run over: 6 input items read") for line in info)
    assert any(line.startswith("throttled by Cognito: pace cut") for line in info)
    assert not [line for line in info if any(name in line for name in NAMES)]
    assert any(NAMES[0] in line for line in debug)


def test_outage_hold_and_end_are_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """The gate says at INFO when an outage holds a run and when Cognito answers again."""
    now = [0.0]
    gate = CallGate(outage_budget=60, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="cognito_confirm")
    for user in ("one user", "another user"):
        gate.sending()
        gate.unanswered(user)
    now[0] = 12.0
    gate.sending()
    gate.answered()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "no answer from Cognito for 2 users in a row: holding the run, one probe at a time "
        "(outage budget 60 s)",
        "Cognito answers again after 12 s of outage: carrying on",
    ]
