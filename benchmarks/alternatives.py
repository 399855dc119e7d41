"""The library and the ways it is compared with, each confirming a list of users once.

Every alternative gets the same endpoint and users and returns a ``ClientRun``: wall and CPU
time from its first call to its last answer (client creation left out) and how many users it
ended up failing, by its own account. What the server saw comes from the fake's counters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import anyio
import boto3
import botocore.exceptions
from aiobotocore.config import AioConfig

from cognito_confirm import AdaptiveRateLimiter, CognitoConfirmer, ResultStream
from cognito_confirm._client import DEFAULT_MAX_CONNECTIONS

from .fakeproc import USER_POOL_ID
from .live import library_session, shared_session

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

REGION: Final = "us-east-1"
UNPACED: Final = 1_000_000.0
"""A ceiling so high that, against a fake with no quota, the library's pace never waits."""


def unpaced() -> AdaptiveRateLimiter:
    """A pacer at ``UNPACED`` from the start: the quota it assumes is as high (the library's
    own starts no higher than Cognito's default 50/s and probes up)."""
    return AdaptiveRateLimiter(UNPACED, quota=UNPACED)


NO_RETRIES: Final[Mapping[str, Any]] = {"mode": "standard", "total_max_attempts": 1}
_ALREADY_CONFIRMED: Final = "Current status is CONFIRMED"


@dataclass(frozen=True, slots=True)
class ClientRun:
    """How one alternative's run went, seen from the client.

    Attributes:
        elapsed: Wall seconds from the first call to the last answer.
        cpu: CPU seconds of this (the client's) process over the same span.
        failed: Users the alternative ended up failing.
        extra: Figures only some alternatives have (the library's limiter state).
    """

    elapsed: float
    cpu: float
    failed: int
    extra: Mapping[str, float] = field(default_factory=dict)


RunUsers = Callable[[str, Sequence[str]], ClientRun]
"""Confirm these users at this endpoint URL once."""


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way of confirming users.

    Attributes:
        key: Its name in the JSON results.
        name: Its label in the tables.
        run: Confirms the users it is given.
        max_users: Users at most it is given (a slow baseline is capped), or None for all.
    """

    key: str
    name: str
    run: RunUsers
    max_users: int | None = None


class _Stopwatch:
    """Wall and process CPU time since it was made."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def stop(self, failed: int, extra: Mapping[str, float] | None = None) -> ClientRun:
        return ClientRun(
            elapsed=time.perf_counter() - self._wall,
            cpu=time.process_time() - self._cpu,
            failed=failed,
            extra=extra or {},
        )


def library(concurrency: int | None, rate: float | None) -> RunUsers:
    """``CognitoConfirmer.stream()`` with this concurrency and rate, pool sized to match
    (``concurrency=None``: the library's default, as many in flight as the pace needs).

    ``rate=None`` is the library's "no ceiling of mine" (it still paces, from 50/s);
    ``UNPACED`` is a ceiling so high the pace never waits against a fake with no quota (its
    pacer assumes as high a quota: the library's own starts no higher than Cognito's 50/s).
    """

    def run(endpoint_url: str, usernames: Sequence[str]) -> ClientRun:
        return anyio.run(_library, endpoint_url, usernames, concurrency, rate)

    return run


async def _library(
    endpoint_url: str, usernames: Sequence[str], concurrency: int | None, rate: float | None
) -> ClientRun:
    connections = concurrency or DEFAULT_MAX_CONNECTIONS
    async with CognitoConfirmer(
        USER_POOL_ID,
        endpoint_url=endpoint_url,
        max_connections=connections,
        rate=rate,
        limiter=unpaced() if rate == UNPACED else None,
        session=library_session(),
    ) as confirmer:
        clock = _Stopwatch()
        failed = 0
        async with confirmer.stream(usernames, concurrency=concurrency) as results:
            async for result in results:
                failed += not result.ok
        return clock.stop(failed, _limiter_figures(results))


def _limiter_figures(results: ResultStream) -> dict[str, float]:
    limiter = results.limiter
    return {
        "throttles": float(limiter.throttles),
        "cuts": float(limiter.cuts),
        "final_rate": limiter.rate,
    }


def gather(concurrency: int, retries: Mapping[str, Any]) -> RunUsers:
    """aiobotocore, one call per user under an ``asyncio.Semaphore``, all in one ``gather``."""

    def run(endpoint_url: str, usernames: Sequence[str]) -> ClientRun:
        return asyncio.run(_gather(endpoint_url, usernames, concurrency, retries))

    return run


async def _gather(
    endpoint_url: str, usernames: Sequence[str], concurrency: int, retries: Mapping[str, Any]
) -> ClientRun:
    config = AioConfig(retries=dict(retries), max_pool_connections=concurrency)
    async with shared_session().create_client(
        "cognito-idp", region_name=REGION, endpoint_url=endpoint_url, config=config
    ) as client:
        semaphore = asyncio.Semaphore(concurrency)
        clock = _Stopwatch()
        done = await asyncio.gather(*(confirm_one(client, semaphore, name) for name in usernames))
        return clock.stop(failed=done.count(False))


async def confirm_one(
    client: CognitoIdentityProviderClient, semaphore: asyncio.Semaphore, username: str
) -> bool:
    """One AdminConfirmSignUp under the semaphore; True when the user ends confirmed."""
    async with semaphore:
        try:
            await client.admin_confirm_sign_up(UserPoolId=USER_POOL_ID, Username=username)
        except botocore.exceptions.ClientError as exc:
            return _already_confirmed(exc)
        except botocore.exceptions.BotoCoreError:
            return False
    return True


def boto3_loop() -> RunUsers:
    """A plain sequential boto3 loop with botocore's default configuration."""
    return _boto3_loop


def _boto3_loop(endpoint_url: str, usernames: Sequence[str]) -> ClientRun:
    client = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint_url)
    try:
        clock = _Stopwatch()
        failed = 0
        for username in usernames:
            try:
                client.admin_confirm_sign_up(UserPoolId=USER_POOL_ID, Username=username)
            except botocore.exceptions.ClientError as exc:
                failed += not _already_confirmed(exc)
            except botocore.exceptions.BotoCoreError:
                failed += 1
        return clock.stop(failed)
    finally:
        client.close()


def boto3_default_retry_mode() -> str:
    """The retry mode a boto3 client gets by default here (``legacy`` unless configured)."""
    client = boto3.client("cognito-idp", region_name=REGION, endpoint_url="http://127.0.0.1:9")
    try:
        retries: dict[str, object] = getattr(client.meta.config, "retries", None) or {}
        return str(retries.get("mode", "legacy"))
    finally:
        client.close()


def _already_confirmed(exc: botocore.exceptions.ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "NotAuthorizedException" and _ALREADY_CONFIRMED in str(
        error.get("Message", "")
    )
