"""The command line's calls on the user pool besides AdminConfirmSignUp, each under its own quota.

- ListUsers (the UserList quota, 30 requests/s): ``UnconfirmedUsers``, the ``--from-pool``
  source, paced at 10/s.
- AdminUpdateUserAttributes (the UserUpdate quota, 25 requests/s, not adjustable):
  ``EmailVerifier`` for ``--verify-email``, paced at 20/s.
- DescribeUserPool: ``describe_pool``, the check that the pool is there (``--dry-run``) and
  whether its usernames are case-sensitive (every run: ``Alice`` and ``alice`` are then one
  user, deduplicated before anything is sent).

Each gets its own ``AdaptiveRateLimiter``: the quotas are separate, so a throttled listing must
not slow the confirmations down, nor the other way round. Every call goes through the same
retry loop as AdminConfirmSignUp (``_retry.call_with_retries``).
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AbstractContextManager, aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Self, TypeVar

import anyio

from .._client import CognitoConfirmer
from .._errors import AccessDeniedError, CognitoConfirmError, SetupError
from .._pace import DEFAULT_QUOTA
from .._peers import USER_UPDATE, Census, census_of
from .._ratelimit import AdaptiveRateLimiter
from .._retry import RetryPolicy, call_with_retries
from .._validation import region_of
from .display import warning_line
from .report import EmailCheck

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient
    from types_aiobotocore_cognito_idp.type_defs import ListUsersResponseTypeDef

__all__ = [
    "LIST_RATE",
    "UNCONFIRMED_FILTER",
    "UPDATE_RATE",
    "EmailVerifier",
    "PacedCaller",
    "PoolInfo",
    "UnconfirmedUsers",
    "describe_pool",
    "read_case_sensitivity",
]

UNCONFIRMED_FILTER: Final = 'cognito:user_status = "UNCONFIRMED"'
PAGE_SIZE: Final = 60
"""The most users a ListUsers page holds."""
LIST_RATE: Final = 10.0
"""ListUsers calls per second: a third of the 30/s quota, which other tools may be using."""
UPDATE_RATE: Final = 20.0
"""AdminUpdateUserAttributes calls per second, below the 25/s quota."""

_T = TypeVar("_T")


class PacedCaller:
    """Calls one kind of operation at an even, adaptive pace, retrying what is worth retrying.

    Attributes:
        limiter: The pacer; Cognito's throttling cuts its rate.
        retry: Which failures get another call, and after how long.
    """

    def __init__(self, rate: float | None, *, retry: RetryPolicy | None = None) -> None:
        # The rates are this module's, below their quotas: the pace starts at them.
        self.limiter = AdaptiveRateLimiter(rate, quota=rate or DEFAULT_QUOTA)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random()  # noqa: S311 - backoff jitter, not security

    async def call(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Make the call in its turn; raise the last error once the retry policy gives up."""
        attempts = await call_with_retries(
            operation, policy=self.retry, limiter=self.limiter, rng=self._rng
        )
        return attempts.unwrap()


@dataclass(frozen=True, slots=True)
class PoolInfo:
    """What DescribeUserPool says about a pool (no user data).

    Attributes:
        user_pool_id: The pool.
        name: Its name.
        estimated_users: Cognito's estimate of how many users it holds, all statuses together.
        case_sensitive: ``UsernameConfiguration.CaseSensitive``: False when ``Alice`` and
            ``alice`` are one user (true when the pool does not say: Cognito's default).
    """

    user_pool_id: str
    name: str
    estimated_users: int | None
    case_sensitive: bool = True


async def describe_pool(client: CognitoIdentityProviderClient, user_pool_id: str) -> PoolInfo:
    """Check that the pool exists and is reachable with these credentials.

    Raises a ``SetupError`` (unknown pool, access denied, no credentials) or, after three tries,
    another ``CognitoConfirmError`` (unreachable endpoint).
    """
    caller = PacedCaller(None, retry=RetryPolicy(max_attempts=3))
    response = await caller.call(lambda: client.describe_user_pool(UserPoolId=user_pool_id))
    pool = response["UserPool"]
    sensitive = pool.get("UsernameConfiguration", {}).get("CaseSensitive", True)
    return PoolInfo(
        user_pool_id,
        pool.get("Name", ""),
        pool.get("EstimatedNumberOfUsers"),
        case_sensitive=sensitive is not False,
    )


class EmailVerifier:
    """Sets ``email_verified=true`` on confirmed users (``--verify-email``), at its own pace.

    A ``SetupError`` (typically a role allowed to confirm but not to update attributes) is kept
    in ``fatal_error``: every later user is then answered with that error without a call.

    Attributes:
        fatal_error: The setup error that ended the calls, if one did.
        limiter: The AdminUpdateUserAttributes pacer (its ``throttles`` and ``cuts``).
    """

    def __init__(
        self,
        client: CognitoIdentityProviderClient,
        user_pool_id: str,
        *,
        rate: float | None = UPDATE_RATE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._user_pool_id = user_pool_id
        self._caller = PacedCaller(rate, retry=retry)
        self.limiter = self._caller.limiter
        self.fatal_error: SetupError | None = None
        self._census = census_of(client, region_of(user_pool_id) or "", USER_UPDATE)

    def counted(self) -> AbstractContextManager[None]:
        """While a run verifies e-mails, count it among the runs on this host that update
        users in this Region (``_peers``): several share the UserUpdate quota's pace."""
        return self.limiter.among_peers(functools.partial(Census.join, self._census))

    async def verify(self, username: str) -> EmailCheck:
        """Mark this user's email verified; the outcome, never an exception, for one user."""
        if self.fatal_error is not None:
            return _failed(self.fatal_error)
        try:
            await self._caller.call(
                lambda: self._client.admin_update_user_attributes(
                    UserPoolId=self._user_pool_id,
                    Username=username,
                    UserAttributes=[{"Name": "email_verified", "Value": "true"}],
                )
            )
        except SetupError as error:
            self.fatal_error = self.fatal_error or error
            return _failed(error)
        except CognitoConfirmError as error:
            return _failed(error)
        return EmailCheck(verified=True)


def _failed(error: CognitoConfirmError) -> EmailCheck:
    return EmailCheck(verified=False, error_code=error.code or type(error).__name__)


class UnconfirmedUsers:
    """The ``--from-pool`` source: every UNCONFIRMED user of the pool, each exactly once.

    Why not one walk through the pages: the pagination token is an offset into the filtered
    list, and the run confirms the users it has listed, so the list shrinks under the walk and
    each next page skips as many users as have left it. So the walk starts again from the top,
    yielding only names not yet yielded, until a full pass finds no new name.

    That pass must also see a list that stood still: if users yielded earlier were still being
    confirmed while it ran, they could have shifted others past its pages. So before a pass
    can end the walk, every yielded user must have its result, which the caller reports with
    ``note_result()``. Users whose confirmation failed stay UNCONFIRMED and are listed again
    but not yielded again, so the walk ends.

    Note that users who sign up while the walk runs are UNCONFIRMED too, and are confirmed.
    A failure of ListUsers itself (after retries) ends the walk early and is kept in ``error``.

    Attributes:
        error: Why the walk ended early, if it did.
        total: Always None: the number of UNCONFIRMED users is not known in advance.
        passes: How many passes from the top of the list were made.
        pages: How many ListUsers pages were read.
        limiter: The ListUsers pacer (its ``throttles`` and ``cuts``).
    """

    def __init__(
        self,
        client: CognitoIdentityProviderClient,
        user_pool_id: str,
        *,
        rate: float | None = LIST_RATE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._user_pool_id = user_pool_id
        self._caller = PacedCaller(rate, retry=retry)
        self.limiter = self._caller.limiter
        self.error: CognitoConfirmError | None = None
        self.total: int | None = None
        self.passes = 0
        self.pages = 0
        self._yielded: set[str] = set()
        self._results = 0
        self._settled: anyio.Event | None = None
        self._names = self._walk()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        return await self._names.__anext__()

    async def aclose(self) -> None:
        """End the walk (once the run no longer iterates it)."""
        await self._names.aclose()

    def note_result(self) -> None:
        """Report that one of the yielded users has its result."""
        self._results += 1
        if self._settled is not None and self._results >= len(self._yielded):
            self._settled.set()

    async def _walk(self) -> AsyncGenerator[str, None]:
        try:
            while True:
                list_stood_still = self._results >= len(self._yielded)
                found = 0
                async with aclosing(self._one_pass()) as names:
                    async for name in names:
                        if name not in self._yielded:
                            self._yielded.add(name)
                            found += 1
                            yield name
                if not found and list_stood_still:
                    return
                if not found:
                    await self._wait_settled()
        except CognitoConfirmError as error:
            self.error = error

    async def _one_pass(self) -> AsyncGenerator[str, None]:
        self.passes += 1
        token: str | None = None
        while True:
            page = await self._caller.call(functools.partial(self._list, token))
            self.pages += 1
            for user in page.get("Users", []):
                if "Username" in user:
                    yield user["Username"]
            token = page.get("PaginationToken")
            if not token:
                return

    async def _list(self, token: str | None) -> ListUsersResponseTypeDef:
        extra = {"PaginationToken": token} if token else {}
        return await self._client.list_users(
            UserPoolId=self._user_pool_id,
            Filter=UNCONFIRMED_FILTER,
            Limit=PAGE_SIZE,
            **extra,
        )

    async def _wait_settled(self) -> None:
        while self._results < len(self._yielded):
            self._settled = anyio.Event()
            await self._settled.wait()
        self._settled = None


async def read_case_sensitivity(confirmer: CognitoConfirmer) -> None:
    """A pool whose usernames are case-insensitive gets ``Alice`` and ``alice`` sent once.

    A role allowed to confirm but not to describe the pool keeps exact-name duplicates only,
    and says so: a name sent twice costs one call answered "already confirmed".
    """
    try:
        pool = await describe_pool(confirmer.client, confirmer.user_pool_id)
    except AccessDeniedError as error:
        warning_line(
            f"could not read the pool's username settings (DescribeUserPool: {error.code}): "
            "names differing only in case are sent as different users"
        )
        return
    confirmer.case_sensitive = pool.case_sensitive
