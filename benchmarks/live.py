"""Live sign-ups beside a migration: Poisson SignUp calls that draw on the same quota.

A browser shows the error to the user and does not retry, so neither does this: every SignUp
is sent once (botocore's retries off) and counted as throttled or not. The share throttled is
the harm a migration does to the product while it runs.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

_PASSWORD = "Passw0rd!Passw0rd"  # noqa: S105 - a throwaway password for the fake's users


@dataclass
class LiveCounts:
    """What the live sign-ups met.

    Attributes:
        sent: SignUp calls sent.
        throttled: Answered TooManyRequestsException.
        errors: Any other failure (should stay 0).
    """

    sent: int = 0
    throttled: int = 0
    errors: int = 0

    @property
    def harm(self) -> float:
        """Share of sign-ups throttled."""
        return self.throttled / self.sent if self.sent else 0.0


@asynccontextmanager
async def live_sign_ups(
    endpoint_url: str,
    rate: float,
    *,
    seed: int = 0,
    duration: float | None = None,
    prefix: str = "live",
) -> AsyncIterator[LiveCounts]:
    """Send SignUp calls at ``rate``/s (Poisson) until the block ends or ``duration`` passes.

    Usernames are ``prefix`` plus a number, hashed, so that runs against one fake never collide.
    """
    tag = hashlib.sha256(prefix.encode()).hexdigest()[:12]
    counts = LiveCounts()
    rng = random.Random(seed)
    config = AioConfig(
        retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=64
    )
    session = AioSession()
    async with (
        session.create_client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            aws_access_key_id="live",
            aws_secret_access_key="live",  # noqa: S106 - the fake ignores it
            config=config,
        ) as client,
        anyio.create_task_group() as tasks,
    ):

        async def sign_up(name: str) -> None:
            counts.sent += 1
            try:
                await client.sign_up(ClientId="live-app", Username=name, Password=_PASSWORD)
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "TooManyRequestsException":
                    counts.throttled += 1
                else:
                    counts.errors += 1
            except botocore.exceptions.BotoCoreError:
                counts.errors += 1

        async def arrivals() -> None:
            started = anyio.current_time()
            for number in itertools.count():
                with anyio.move_on_after(rng.expovariate(rate)):
                    await stop.wait()
                late = duration is not None and anyio.current_time() - started > duration
                if stop.is_set() or late:
                    return
                tasks.start_soon(sign_up, f"live-{tag}-{seed}-{number}")

        stop = anyio.Event()
        if rate > 0:
            tasks.start_soon(arrivals)
        try:
            yield counts
        finally:
            # The sign-ups in flight finish and are counted; no new one starts.
            stop.set()
