"""Live sign-ups beside a migration: Poisson SignUp calls that draw on the same quota.

A browser shows the error to the user and does not retry, so neither does this: every SignUp
is sent once (botocore's retries off) and counted as throttled or not. The share throttled is
the harm a migration does to the product while it runs.

Production's traffic is not steady, so the rate follows a ``LiveShape``: a base rate, spikes
(a marketing e-mail, a launch) and a step up mid-run, with the same timings as
``pacer_sim.py``'s (first spike at 8 s; sign-ups "after the growth" counted from 5 s after it,
once the pacer has had time to learn). Each sign-up is classified when it is sent, so the share
throttled inside spikes and after the growth are counted apart from the overall share.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace

import anyio
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

_PASSWORD = "Passw0rd!Passw0rd"  # noqa: S105 - a throwaway password for the fake's users


@functools.cache
def shared_session() -> AioSession:
    """The one session for the clients the harness makes in this process (live traffic, the
    baselines): a fresh session loads botocore's JSON models again, a tenth of a second or more
    of CPU per client, which a smoke run of many short runs pays over and over. Clients are
    still made per run, on each run's event loop; the library's clients are its own."""
    return AioSession()


_LIBRARY_SHARES: list[bool] = []
"""Non-empty inside ``library_shares_session``: the library's clients use ``shared_session``."""


@contextmanager
def library_shares_session(shares: bool = True) -> Iterator[None]:
    """Inside this block (a smoke run), ``library_session()`` is ``shared_session()``.

    A full run leaves the library to make its session per confirmer, as a user's code does
    (a tenth of a second of CPU, outside every measured span); a smoke run, which measures
    nothing, would pay it a dozen times over a few seconds.
    """
    _LIBRARY_SHARES.append(shares)
    try:
        yield
    finally:
        _LIBRARY_SHARES.pop()


def library_session() -> AioSession | None:
    """The ``session=`` for the library's confirmers: None (their own) but in a smoke run."""
    return shared_session() if _LIBRARY_SHARES and _LIBRARY_SHARES[-1] else None


GROWTH_SETTLES = 5.0
"""Seconds after the growth before its sign-ups count as "after the growth" (as pacer_sim)."""


@dataclass(frozen=True, slots=True)
class LiveShape:
    """Live sign-ups per second over time.

    Attributes:
        base: The rate outside spikes (before the growth, if any).
        peak: The rate inside a spike, or None for no spikes.
        spike_for: Seconds a spike lasts.
        every: Seconds from one spike's start to the next.
        first_spike: When the first spike starts.
        grow_to: The rate after the growth, or None for no growth.
        grow_at: When the rate steps up to ``grow_to``.
        live_for: Seconds of live traffic, or None for as long as the migration runs.
    """

    base: float
    peak: float | None = None
    spike_for: float = 0.0
    every: float = 0.0
    first_spike: float = 8.0
    grow_to: float | None = None
    grow_at: float = 20.0
    live_for: float | None = None

    def rate(self, now: float) -> float:
        """Live sign-ups per second at ``now`` seconds into the run."""
        if self.live_for is not None and now >= self.live_for:
            return 0.0
        if self.peak is not None and self.in_spike(now):
            return self.peak
        if self.grow_to is not None and now >= self.grow_at:
            return self.grow_to
        return self.base

    @property
    def highest(self) -> float:
        """The highest rate the shape ever reaches."""
        return max(self.base, self.peak or 0.0, self.grow_to or 0.0)

    def in_spike(self, now: float) -> bool:
        """Whether ``now`` falls inside a spike."""
        if self.peak is None or now < self.first_spike:
            return False
        return (now - self.first_spike) % self.every < self.spike_for

    def after_growth(self, now: float) -> bool:
        """Whether a sign-up sent at ``now`` counts as after the growth."""
        return self.grow_to is not None and now >= self.grow_at + GROWTH_SETTLES

    def mean(self, elapsed: float) -> float:
        """The mean live rate over the first ``elapsed`` seconds (the rate's integral, 10 ms
        steps: exact enough for shapes whose edges fall on whole seconds)."""
        steps = max(1, round(elapsed * 100))
        step = elapsed / steps
        return sum(self.rate((i + 0.5) * step) for i in range(steps)) / steps

    def describe(self) -> str:
        """The shape in a table: ``15->45/s, 5 s every 20 s``, ``10->30/s at 20 s``, ``20/s``."""
        if self.peak is not None:
            return f"{self.base:g}->{self.peak:g}/s, {self.spike_for:g} s every {self.every:g} s"
        if self.grow_to is not None:
            return f"{self.base:g}->{self.grow_to:g}/s at {self.grow_at:g} s"
        return f"{self.base:g}/s" if self.base else "none"

    def scaled(self, factor: float) -> LiveShape:
        """The same shape with every time multiplied by ``factor`` (a smoke run's tiny size)."""
        return replace(
            self,
            spike_for=self.spike_for * factor,
            every=self.every * factor,
            first_spike=self.first_spike * factor,
            grow_at=self.grow_at * factor,
            live_for=None if self.live_for is None else self.live_for * factor,
        )


@dataclass
class LiveCounts:
    """What the live sign-ups met.

    Attributes:
        sent: SignUp calls sent.
        throttled: Answered TooManyRequestsException.
        errors: Any other failure (should stay 0).
        spike_sent: Of the calls sent, those sent inside a spike.
        spike_throttled: Of those, throttled.
        after_sent: Of the calls sent, those sent after the growth.
        after_throttled: Of those, throttled.
    """

    sent: int = 0
    throttled: int = 0
    errors: int = 0
    spike_sent: int = 0
    spike_throttled: int = 0
    after_sent: int = 0
    after_throttled: int = 0

    @property
    def harm(self) -> float:
        """Share of sign-ups throttled."""
        return self.throttled / self.sent if self.sent else 0.0


@asynccontextmanager
async def live_sign_ups(
    endpoint_url: str,
    rate: float | LiveShape,
    *,
    seed: int = 0,
    duration: float | None = None,
    prefix: str = "live",
) -> AsyncIterator[LiveCounts]:
    """Send SignUp calls at ``rate``/s (Poisson) until the block ends or ``duration`` passes.

    A ``LiveShape`` makes the rate vary: arrivals are drawn at its highest rate and each is
    kept with probability rate / highest (thinning), which is exactly a Poisson process with
    that varying rate. Usernames are ``prefix`` plus a number, hashed, so that runs against
    one fake never collide.
    """
    shape = rate if isinstance(rate, LiveShape) else LiveShape(rate, live_for=duration)
    tag = hashlib.sha256(prefix.encode()).hexdigest()[:12]
    counts = LiveCounts()
    rng = random.Random(seed)
    config = AioConfig(
        retries={"total_max_attempts": 1, "mode": "standard"}, max_pool_connections=64
    )
    session = shared_session()
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

        async def sign_up(name: str, now: float) -> None:
            spike, after = shape.in_spike(now), shape.after_growth(now)
            counts.sent += 1
            counts.spike_sent += spike
            counts.after_sent += after
            try:
                await client.sign_up(ClientId="live-app", Username=name, Password=_PASSWORD)
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "TooManyRequestsException":
                    counts.throttled += 1
                    counts.spike_throttled += spike
                    counts.after_throttled += after
                else:
                    counts.errors += 1
            except botocore.exceptions.BotoCoreError:
                counts.errors += 1

        async def arrivals() -> None:
            started = anyio.current_time()
            highest = shape.highest
            for number in itertools.count():
                with anyio.move_on_after(rng.expovariate(highest)):
                    await stop.wait()
                now = anyio.current_time() - started
                late = shape.live_for is not None and now > shape.live_for
                if stop.is_set() or late:
                    return
                rate_now = shape.rate(now)
                # No draw at the highest rate: a steady run's arrivals stay as they were.
                if rate_now >= highest or rng.random() * highest < rate_now:
                    tasks.start_soon(sign_up, f"live-{tag}-{seed}-{number}", now)

        stop = anyio.Event()
        if shape.highest > 0:
            tasks.start_soon(arrivals)
        try:
            yield counts
        finally:
            # The sign-ups in flight finish and are counted; no new one starts.
            stop.set()
