"""Type-checked, never run: the public API as a user writes it (mypy --strict checks this file)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiobotocore.session import AioSession

from cognito_confirm import (
    BulkReport,
    ClockSkewError,
    CognitoConfirmer,
    CognitoConfirmError,
    ConfirmResult,
    EndpointNotCognitoError,
    NotConfirmableError,
    Outcome,
    RepeatedFailureError,
    RetryPolicy,
    SetupError,
)


async def one(pool_id: str) -> Outcome:
    async with CognitoConfirmer(pool_id, region_name="eu-west-1", profile_name="ops") as c:
        try:
            result: ConfirmResult = await c.confirm("alice", client_metadata={"source": "x"})
        except NotConfirmableError as error:
            status: str = error.status
            return Outcome.NOT_CONFIRMABLE if status else Outcome.FAILED
        except CognitoConfirmError as error:
            code: str | None = error.code
            return Outcome.FAILED if code is None else Outcome.NOT_FOUND
        return result.outcome


async def names() -> AsyncIterator[str]:
    yield "bob"


async def many(pool_id: str) -> bool:
    retry = RetryPolicy(max_attempts=5, base_delay=0.1)
    async with CognitoConfirmer(
        pool_id, session=AioSession(), retry=retry, rate="auto", max_wait=1.0
    ) as c:
        try:
            report: BulkReport = await c.confirm_many(["a", "b"], concurrency=8)
        except SetupError as error:
            return error.partial_report is not None
        async with c.stream(names(), skip=lambda name: None) as results:
            async for result in results:
                elapsed: float = result.elapsed
                index: int = result.index
                assert elapsed >= 0
                assert index >= 0
            current_rate: float = results.limiter.rate
            assert current_rate > 0
        return report.ok and report.counts[Outcome.CONFIRMED] >= 0


async def stopped_and_checked(pool_id: str) -> int:
    retry = RetryPolicy(max_attempts=5, timeout=60.0)
    async with CognitoConfirmer(pool_id, retry=retry) as c:
        try:
            async with c.stream(names(), outage_budget=120.0) as results:
                async for result in results:
                    if results.outage is not None:
                        results.stop()
                    if result.index > 10:
                        results.abort()
                input_error: Exception | None = results.input_error
                assert input_error is None
        except RepeatedFailureError as error:
            count: int = error.count
            last: CognitoConfirmError = error.error
            return count if last.code else 0
        except (EndpointNotCognitoError, ClockSkewError) as error:
            status: int | None = error.http_status
            return status or 0
    return 0
