"""Stopping is prompt, and an input that raises ends a run like a run-level error.

After ``stop()`` nothing new is sent, not even calls waiting for the pace or in backoff; every
user sent has exactly one result. ``abort()`` cancels the calls in flight too. An input that
raises mid-run lets the calls in flight finish, delivers their results, then raises its own
exception (not an ``ExceptionGroup``), with ``partial_report`` from ``confirm_many``.

On virtual time (``tests.virtual_time``) with the fake answering in-process: the pace, the
backoff and the waits below run on the loop's clock, the same on any machine. The example
script's test runs it as ``__main__`` (``runpy``) against the HTTP fake, and asserts no time.
"""

from __future__ import annotations

import json
import runpy
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from cognito_confirm import CognitoConfirmer, ConfirmResult, Outcome, RetryPolicy
from cognito_confirm.testing import FakeCognito
from tests.helpers import share_built_once, unpaced
from tests.virtual_time import local_client, virtual_time


@pytest.fixture(autouse=True)
def built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One SSL context for every client, one signing key for moto's pools (tests.helpers)."""
    share_built_once(monkeypatch)


NAMES = [f"u{n:03d}" for n in range(100)]


@pytest.fixture
def fake() -> FakeCognito:
    """A fake Cognito for this test, answering in-process (``confirmer``)."""
    return FakeCognito()


def confirmer(fake: FakeCognito, rate: float = 10_000, **kwargs: object) -> CognitoConfirmer:
    return CognitoConfirmer(
        fake.user_pool_id,
        client=local_client(fake),
        limiter=unpaced(rate),
        **kwargs,  # type: ignore[arg-type]
    )


def sent(fake: FakeCognito) -> set[str]:
    return set(fake.stats().confirm_calls)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a condition on the fake's counters."""
    while not condition():  # noqa: ASYNC110 - the fake's counters have no event to wait on
        await anyio.sleep(0.01)


@virtual_time
async def test_stop_sends_nothing_more_even_calls_waiting_for_the_pace(
    fake: FakeCognito,
) -> None:
    """At 2 calls/s, stop() after the first results: no call after it, the run ends at once."""
    fake.add_users(NAMES)
    got: list[ConfirmResult] = []
    started: list[str] = []
    async with confirmer(fake, rate=2) as c:
        call = c.client.admin_confirm_sign_up

        async def counted(**kwargs: Any) -> Any:
            started.append(kwargs["Username"])  # counted as it leaves, not as it arrives
            return await call(**kwargs)

        c.client.admin_confirm_sign_up = counted  # type: ignore[method-assign]
        async with c.stream(NAMES, concurrency=8) as results:
            async for result in results:
                got.append(result)
                if len(got) == 2:
                    results.stop()
                    stopped_at = anyio.current_time()
                    calls_at_stop = len(started)
        ended = anyio.current_time() - stopped_at
    await anyio.sleep(0.6)
    calls = sum(fake.stats().confirm_calls.values())
    assert len(started) == calls_at_stop  # nothing left after stop()
    assert calls == calls_at_stop  # a call on its way at stop() still arrived, and counts
    assert ended < 1.5  # was: one more call every 0.5 s for each of 8 workers on the pace
    assert {r.username for r in got} == sent(fake)  # every user sent has its one result
    assert len(got) == calls


@virtual_time
async def test_stop_ends_a_user_in_backoff_with_its_last_error(fake: FakeCognito) -> None:
    """A user throttled and sleeping a long backoff ends at stop(), failed, not sent again."""
    fake.add_users(["ok", "busy"])
    fake.fail("busy", "TooManyRequestsException")
    retry = RetryPolicy(base_delay=30.0, max_delay=30.0)
    got: list[ConfirmResult] = []
    async with confirmer(fake, retry=retry) as c:
        async with c.stream(["ok", "busy"], concurrency=2) as results:

            async def stop_soon() -> None:
                await until(lambda: fake.stats().confirm_calls.get("busy", 0) >= 1)
                await anyio.sleep(0.05)
                results.stop()

            started = anyio.current_time()
            async with anyio.create_task_group() as group:
                group.start_soon(stop_soon)
                async for result in results:
                    got.append(result)
    assert anyio.current_time() - started < 2
    busy = next(r for r in got if r.username == "busy")
    assert (busy.outcome, busy.attempts, busy.error_code) == (
        Outcome.FAILED,
        1,
        "TooManyRequestsException",
    )
    assert fake.stats().confirm_calls["busy"] == 1


@virtual_time
async def test_abort_cancels_calls_in_flight_and_ends_the_iteration(fake: FakeCognito) -> None:
    """Calls hanging on the endpoint: stop() waits for them, abort() cuts them (no result)."""
    fake.add_users(NAMES)
    fake.go_dark(mode="hang", after=10)
    got: list[ConfirmResult] = []
    async with confirmer(fake) as c:
        async with c.stream(NAMES, concurrency=4) as results:

            async def stop_then_abort() -> None:
                await until(lambda: fake.stats().dark_requests >= 1)
                results.stop()
                hanging = results.in_flight  # as many as the pace needs, at most 4 (#16)
                await anyio.sleep(0.3)
                assert 1 <= hanging <= 4
                assert results.in_flight == hanging  # stop() lets calls in flight finish
                results.abort()
                results.abort()  # idempotent

            async with anyio.create_task_group() as group:
                group.start_soon(stop_then_abort)
                async for result in results:
                    got.append(result)
                aborted_at = anyio.current_time()
        assert results.undelivered == ()
    assert anyio.current_time() - aborted_at < 1.5
    assert len(got) == 10
    assert all(r.outcome is Outcome.CONFIRMED for r in got)
    fake.heal()


def lines_then_bad_byte(count: int) -> Iterator[str]:
    """What iterating a UTF-8 file with one bad byte after ``count`` lines looks like."""
    yield from NAMES_BIG[:count]
    raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


NAMES_BIG = [f"user{n:05d}" for n in range(3000)]


@virtual_time
async def test_an_input_that_raises_delivers_the_calls_in_flight_then_raises_it(
    fake: FakeCognito,
) -> None:
    """The generator raises after 300 users: every user confirmed has a result, then the
    UnicodeDecodeError itself (was: an ExceptionGroup, and the in-flight results lost)."""
    fake.add_users(NAMES_BIG)
    fake.configure(latency=0.02)
    got: list[ConfirmResult] = []

    async def run(c: CognitoConfirmer) -> None:
        async with c.stream(lines_then_bad_byte(300), concurrency=16) as results:
            async for result in results:
                got.append(result)

    async with confirmer(fake) as c:
        with pytest.raises(UnicodeDecodeError) as caught:
            await run(c)
    assert not hasattr(caught.value, "partial_report")  # only confirm_many attaches one
    confirmed = {name for name in NAMES_BIG if fake.user_status(name) == "CONFIRMED"}
    assert {r.username for r in got} == confirmed  # nothing done that is not reported
    assert confirmed <= set(NAMES_BIG[:300])
    assert len(confirmed) >= 300 - 2 * 16  # read but not yet sent: a resumed run sends them
    assert all(r.outcome is Outcome.CONFIRMED for r in got)


@virtual_time
async def test_confirm_many_attaches_the_partial_report_to_the_input_error(
    fake: FakeCognito,
) -> None:
    """confirm_many raises the input's own error, carrying partial_report and a note."""
    fake.add_users(NAMES_BIG)
    fake.configure(latency=0.01)

    async def source() -> AsyncIterator[str]:
        for name in NAMES_BIG[:100]:
            yield name
        raise OSError("the network share went away")

    async with confirmer(fake) as c:
        with pytest.raises(OSError, match="network share") as caught:
            await c.confirm_many(source(), concurrency=8)
    report = caught.value.partial_report  # type: ignore[attr-defined]
    confirmed = {name for name in NAMES_BIG if fake.user_status(name) == "CONFIRMED"}
    assert {r.username for r in report.results} == confirmed
    assert report.counts[Outcome.CONFIRMED] >= 100 - 2 * 8
    assert any("partial_report" in note for note in caught.value.__notes__)


def test_bulk_migrate_writes_every_result_before_the_input_error(tmp_path: Path) -> None:
    """examples/bulk_migrate.py over a file with a bad byte after 200 lines: a report line for
    every user Cognito confirmed, then the UnicodeDecodeError (was: 32 lines lost). The file is
    decoded in 8 KiB chunks, and two of them make the case: names of 120 characters fill them
    with 135 lines (short names needed 1,000 lines: 28 s, then 5 s; now 200)."""
    names = [f"{'u' * 115}{n:05d}" for n in range(200)]
    with FakeCognito() as fake:
        fake.add_users(names)
        fake.configure(latency=0.02)
        run_bulk_migrate(fake, names, tmp_path)


def run_bulk_migrate(fake: FakeCognito, names: list[str], tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_bytes("".join(f"{name}\n" for name in names).encode() + b"\xffbad\n")
    report = tmp_path / "report.jsonl"
    example = str(Path(__file__).parent.parent / "examples" / "bulk_migrate.py")
    argv = [
        example,
        *("--user-pool-id", fake.user_pool_id, "--input", str(users), "--report", str(report)),
        *("--endpoint-url", fake.endpoint_url, "--rate", "2000", "--concurrency", "16"),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        with pytest.raises(UnicodeDecodeError) as caught:
            runpy.run_path(example, run_name="__main__")
    # What the interpreter would print for it: the traceback, chained exceptions included.
    printed = "".join(traceback.format_exception(caught.value))
    assert "UnicodeDecodeError" in printed
    assert "ExceptionGroup" not in printed
    written = {json.loads(line)["username"] for line in report.read_text().splitlines()}
    confirmed = {name for name in names if fake.user_status(name) == "CONFIRMED"}
    assert written == confirmed
    assert len(confirmed) > 100  # 135 lines decode before the bad chunk
