"""--from-pool listing, the dry run's pool check and --verify-email, against the fake Cognito."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import anyio
import pytest

from cognito_confirm import (
    AccessDeniedError,
    CognitoConfirmer,
    Outcome,
    UserPoolNotFoundError,
)
from cognito_confirm.cli.userpool import (
    UNCONFIRMED_FILTER,
    EmailVerifier,
    UnconfirmedUsers,
    describe_pool,
)
from cognito_confirm.testing import FakeCognito
from tests.helpers import UNPACED, unpaced
from tests.virtual_time import local_client, virtual_time


def confirmer_for(
    fake: FakeCognito, pool_id: str | None = None, *, local: bool = False
) -> CognitoConfirmer:
    """Over HTTP, or with ``local`` in-process on the loop's clock (``tests.virtual_time``)."""
    if local:
        return CognitoConfirmer(
            pool_id or fake.user_pool_id, client=local_client(fake), limiter=unpaced()
        )
    return CognitoConfirmer(
        pool_id or fake.user_pool_id, endpoint_url=fake.endpoint_url, limiter=unpaced()
    )


async def confirm_from_pool(
    fake: FakeCognito, *, rate: float | None = None, local: bool = False
) -> tuple[Counter[str], UnconfirmedUsers]:
    """Confirm the pool's UNCONFIRMED users as the command line does; count results by name."""
    seen: Counter[str] = Counter()
    async with confirmer_for(fake, local=local) as confirmer:
        source = UnconfirmedUsers(confirmer.client, fake.user_pool_id, rate=rate)
        try:
            async with confirmer.stream(source, concurrency=8) as results:
                async for result in results:
                    source.note_result()
                    seen[result.username] += 1
                    assert result.outcome in (Outcome.CONFIRMED, Outcome.FAILED)
        finally:
            await source.aclose()
    return seen, source


@virtual_time
async def test_from_pool_confirms_every_user_while_the_list_shrinks() -> None:
    """250 users (five pages) listed while being confirmed: all confirmed, each sent once."""
    fake = FakeCognito()
    names = [f"user{n:03d}" for n in range(250)]
    fake.add_users(names)
    seen, source = await confirm_from_pool(fake, rate=100.0, local=True)
    assert set(seen) == set(names)
    assert set(seen.values()) == {1}
    assert fake.status_counts() == {"CONFIRMED": 250}
    assert max(fake.stats().confirmations.values()) == 1
    # The offset hazard did bite: one walk through the pages could not have found them all.
    assert source.passes >= 3
    assert source.error is None


@virtual_time
async def test_from_pool_ends_when_only_failed_users_remain() -> None:
    """Users that stay UNCONFIRMED because they fail are listed again but not sent again."""
    fake = FakeCognito()
    names = [f"user{n:03d}" for n in range(130)]
    fake.add_users(names)
    for name in names[::26]:
        fake.fail(name, "UserLambdaValidationException")
    seen, _ = await confirm_from_pool(fake, local=True)
    assert set(seen) == set(names)
    assert set(seen.values()) == {1}
    assert fake.status_counts() == {"CONFIRMED": 125, "UNCONFIRMED": 5}


@virtual_time
async def test_from_pool_backs_off_when_listing_is_throttled() -> None:
    """TooManyRequestsException on ListUsers slows the listing down; no user is lost (virtual
    time, in-process: over HTTP a loaded machine listed too slowly to be throttled at all)."""
    fake = FakeCognito(list_quota=2)
    fake.add_users(f"user{n:03d}" for n in range(70))
    seen, source = await confirm_from_pool(fake, rate=50.0, local=True)
    assert fake.stats().throttled > 0
    assert source.limiter.cuts > 0
    assert len(seen) == 70
    assert fake.status_counts() == {"CONFIRMED": 70}


async def test_from_pool_unknown_pool_ends_with_the_error(fake: FakeCognito) -> None:
    """A pool that does not exist yields no user and keeps the setup error."""
    async with confirmer_for(fake, "us-east-1_Unknown1") as confirmer:
        source = UnconfirmedUsers(confirmer.client, "us-east-1_Unknown1")
        assert [name async for name in source] == []
        await source.aclose()
    assert isinstance(source.error, UserPoolNotFoundError)


class ScriptedPool:
    """A ListUsers that pages by offset over a list the test changes between calls."""

    def __init__(self, names: list[str]) -> None:
        self.users = list(names)
        self.calls = 0
        self.before_call: dict[int, Callable[[], None]] = {}

    async def list_users(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["Filter"] == UNCONFIRMED_FILTER
        self.calls += 1
        self.before_call.get(self.calls, lambda: None)()
        offset = int(kwargs.get("PaginationToken", 0))
        limit = kwargs["Limit"]
        page: dict[str, Any] = {
            "Users": [{"Username": name} for name in self.users[offset : offset + limit]]
        }
        if offset + limit < len(self.users):
            page["PaginationToken"] = str(offset + limit)
        return page


async def test_walk_does_not_end_on_a_pass_the_users_in_flight_shifted() -> None:
    """A quiet pass that ran while earlier users were finishing is not trusted to end the walk.

    Pass 1 yields A* and X*, then A* finish and shift Y out of reach. Pass 2 lists only X*
    (nothing new) while X* finish: a walk that stopped at its first quiet pass would miss Y.
    """
    a_users = [f"a{n:02d}" for n in range(60)]
    x_users = [f"x{n:02d}" for n in range(60)]
    pool = ScriptedPool([*a_users, *x_users, "y"])
    source = UnconfirmedUsers(cast(Any, pool), "us-east-1_Scripted", rate=UNPACED)

    def finish(names: list[str]) -> Callable[[], None]:
        def remove() -> None:
            for name in names:
                pool.users.remove(name)
                source.note_result()

        return remove

    pool.before_call = {3: finish(a_users), 5: finish(x_users), 7: finish(["y"])}
    names = [name async for name in source]
    assert names == [*a_users, *x_users, "y"]
    assert source.passes == 5


async def test_walk_waits_for_results_before_its_last_pass() -> None:
    """With a user still in flight, the walk waits for its result, then lists once more."""
    pool = ScriptedPool(["only"])
    source = UnconfirmedUsers(cast(Any, pool), "us-east-1_Scripted", rate=UNPACED)
    assert await source.__anext__() == "only"
    ended = anyio.Event()

    async def next_name() -> None:
        with pytest.raises(StopAsyncIteration):
            await source.__anext__()
        ended.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(next_name)
        await anyio.wait_all_tasks_blocked()
        assert not ended.is_set()
        calls_while_waiting = pool.calls
        source.note_result()
    assert pool.calls == calls_while_waiting + 1
    await source.aclose()


async def test_describe_pool_checks_the_pool(fake: FakeCognito) -> None:
    """DescribeUserPool gives the pool's name and size, or the setup error."""
    fake.add_users(["a", "b"])
    async with confirmer_for(fake) as confirmer:
        info = await describe_pool(confirmer.client, fake.user_pool_id)
        with pytest.raises(UserPoolNotFoundError):
            await describe_pool(confirmer.client, "us-east-1_Unknown1")
    assert (info.name, info.estimated_users) == ("fake", 2)


async def test_email_verifier_marks_emails_verified(fake: FakeCognito) -> None:
    """email_verified becomes "true"; an unknown user is an error code, not an exception."""
    fake.add_user("alice", "CONFIRMED", {"email": "alice@example.com"})
    async with confirmer_for(fake) as confirmer:
        verifier = EmailVerifier(confirmer.client, fake.user_pool_id, rate=None)
        assert (await verifier.verify("alice")).verified is True
        missing = await verifier.verify("ghost")
    assert fake.user_attributes("alice")["email_verified"] == "true"
    assert (missing.verified, missing.error_code) == (False, "UserNotFoundException")
    assert verifier.fatal_error is None


async def test_email_verifier_stops_calling_after_access_denied(
    fake: FakeCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role that may not update attributes fails once, then no more calls are made."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "denied")
    fake.add_users(["a", "b"])
    async with confirmer_for(fake) as confirmer:
        verifier = EmailVerifier(confirmer.client, fake.user_pool_id, rate=None)
        first = await verifier.verify("a")
        second = await verifier.verify("b")
    assert isinstance(verifier.fatal_error, AccessDeniedError)
    assert first == second
    assert first.error_code == "AccessDeniedException"
    assert fake.stats().requests["AdminUpdateUserAttributes"] == 1
