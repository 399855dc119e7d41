"""The bulk engine against a real moto server: every input item gets exactly one result.

The tests share one user pool (``moto_pool``, module-scoped): each signs up and sends names of
its own, so none sees another's users.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from cognito_confirm import (
    ClientStateError,
    CognitoConfirmer,
    Outcome,
    UserPoolNotFoundError,
)
from tests.helpers import MotoPool, isolate_aws


@pytest.fixture(scope="module")
def moto_pool(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoPool]:
    """A user pool in the moto server for this module's tests, deleted afterwards: a pool
    costs moto about 0.2 s to create. Made without the developer's AWS configuration, as the
    per-test one is (``aws_isolation`` is per test, so it comes after this fixture)."""
    with pytest.MonkeyPatch.context() as patch:
        isolate_aws(patch, tmp_path_factory.mktemp("aws"))
        pool = MotoPool.create(moto_url)
    yield pool
    pool.delete()


async def test_confirm_many_reports_every_item_in_input_order(moto_pool: MotoPool) -> None:
    """Confirmed, not found, invalid and duplicate items each get their own result, in order."""
    moto_pool.sign_up("u1", "u2", "u3")
    names = ["u1", "ghost", "u2", "bad name", "u1", "u3", "x" * 129]
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        report = await c.confirm_many(names, concurrency=3)
    assert [r.username for r in report.results] == names
    assert [r.index for r in report.results] == list(range(len(names)))
    assert [r.outcome for r in report.results] == [
        Outcome.CONFIRMED,
        Outcome.NOT_FOUND,
        Outcome.CONFIRMED,
        Outcome.INVALID,
        Outcome.DUPLICATE,
        Outcome.CONFIRMED,
        Outcome.INVALID,
    ]
    assert report.counts[Outcome.CONFIRMED] == 3
    assert report.counts[Outcome.FAILED] == 0
    assert not report.ok
    assert [r.username for r in report.failures] == ["ghost", "bad name", "x" * 129]
    invalid, duplicate = report.results[3], report.results[4]
    assert invalid.attempts == 0
    assert "space" in (invalid.message or "")
    assert duplicate.message == "duplicate of an earlier input item"
    assert duplicate.ok
    assert all(moto_pool.status(name) == "CONFIRMED" for name in ("u1", "u2", "u3"))


async def test_stream_accepts_async_iterables_and_yields_as_completed(
    moto_pool: MotoPool,
) -> None:
    """An async generator is consumed and each result carries its input position."""
    names = [f"s{n}" for n in range(12)]
    moto_pool.sign_up(*names)

    async def source() -> AsyncIterator[str]:
        for name in names:
            yield name

    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        async with c.stream(source(), concurrency=4) as results:
            seen = {result.index: result async for result in results}
        assert results.read == 12
        assert 1 <= results.max_in_flight <= 4
    assert sorted(seen) == list(range(12))
    assert all(seen[i].username == names[i] for i in seen)
    assert all(r.outcome is Outcome.CONFIRMED for r in seen.values())


async def test_input_is_read_lazily(moto_pool: MotoPool) -> None:
    """The engine reads only a few items ahead of the results it has delivered."""
    read: list[int] = []

    def source() -> Iterator[str]:
        for n in range(10_000):
            read.append(n)
            yield f"lazy{n}"

    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        async with c.stream(source(), concurrency=2) as results:
            delivered = 0
            async for _ in results:
                delivered += 1
                # workers (2) + work queue (2) + result buffer (2) + one the producer holds
                assert len(read) <= delivered + 2 + 2 + 2 + 1
                if delivered == 20:
                    break
    assert len(read) < 30


async def test_unknown_pool_stops_the_run_with_one_error(moto_url: str) -> None:
    """A SetupError ends the run early: one exception, not one failure per user."""
    read: list[str] = []

    def source() -> Iterator[str]:
        for n in range(1000):
            read.append(str(n))
            yield f"user{n}"

    async with CognitoConfirmer("us-east-1_Missing", endpoint_url=moto_url) as c:
        with pytest.raises(UserPoolNotFoundError) as caught:
            await c.confirm_many(source(), concurrency=4)
    assert len(read) < 20
    partial = caught.value.partial_report
    assert partial is not None
    assert partial.results == ()


async def test_stop_finishes_in_flight_and_ends_iteration(moto_pool: MotoPool) -> None:
    """stop() stops reading input; results already in flight still arrive; nothing raises."""
    names = [f"st{n}" for n in range(20)]  # stopped after 5: 11 results at most
    moto_pool.sign_up(*names)
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        async with c.stream(names, concurrency=3) as results:
            got = []
            async for result in results:
                got.append(result)
                if len(got) == 5:
                    results.stop()
    assert 5 <= len(got) <= 5 + 3 + 3
    assert len({r.index for r in got}) == len(got)
    assert all(r.outcome is Outcome.CONFIRMED for r in got)


async def test_stream_misuse_is_a_clear_error(moto_pool: MotoPool) -> None:
    """Iterating outside the block, entering twice or oversubscribing the pool is refused."""
    async with CognitoConfirmer(
        moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url, max_connections=4
    ) as c:
        stream = c.stream(["a"], concurrency=2)
        with pytest.raises(ClientStateError, match="inside"):
            await stream.__anext__()
        async with stream:
            with pytest.raises(ClientStateError, match="once"):
                await stream.__aenter__()
            assert [r.username async for r in stream] == ["a"]
        with pytest.raises(ValueError, match="max_connections"):
            c.stream(["a"], concurrency=5)
        with pytest.raises(ValueError, match="at least 1"):
            c.stream(["a"], concurrency=0)
        with pytest.raises(TypeError, match="not one string"):
            c.stream("alice")
    with pytest.raises(ClientStateError):
        await c.confirm_many(["a"], concurrency=1)


async def test_skip_check_reports_skipped(moto_pool: MotoPool) -> None:
    """A skip check's reason becomes a skipped result and nothing is sent for that user."""
    moto_pool.sign_up("keep")
    async with CognitoConfirmer(moto_pool.pool_id, endpoint_url=moto_pool.endpoint_url) as c:
        async with c.stream(
            ["keep", "done-before"],
            skip=lambda name: "done in an earlier run" if name == "done-before" else None,
        ) as results:
            by_name = {r.username: r async for r in results}
    assert by_name["keep"].outcome is Outcome.CONFIRMED
    assert by_name["done-before"].outcome is Outcome.SKIPPED
    assert by_name["done-before"].message == "done in an earlier run"
