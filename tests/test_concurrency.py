"""Calls in flight follow the pace and the latency (Little's law), capped; on a virtual clock."""

from __future__ import annotations

import heapq
import itertools
import math
import random

import anyio
import anyio.lowlevel
import pytest

from cognito_confirm import AdaptiveRateLimiter, ConfirmResult, Outcome, ResultStream
from cognito_confirm import _ratelimit as pace
from cognito_confirm._confirm import Confirmation
from cognito_confirm._gate import CallGate

PACE = 40.0


class VirtualTime:
    """A clock that jumps to the next timer once every task waits (trio's autojump, by hand)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._timers, (self.now + seconds, next(self._order), event))
        await event.wait()

    async def drive(self) -> None:
        """Wake the earliest timer whenever the other tasks have run out of work."""
        while True:
            for _ in range(20):  # every runnable task reaches its next wait meanwhile
                await anyio.lowlevel.checkpoint()
            if self._timers:
                when, _, event = heapq.heappop(self._timers)
                self.now = max(self.now, when)
                event.set()


async def run(latency: float, users: int, concurrency: int | None) -> tuple[float, int]:
    """A bulk run of calls taking ``latency`` virtual seconds: (confirmed a second between the
    first and the last tenth of the answers, the most users in flight)."""
    time = VirtualTime()
    answers: list[float] = []
    limiter = AdaptiveRateLimiter(PACE, clock=time.clock, sleep=time.sleep, rng=random.Random(0))

    async def confirm(
        username: str, *, index: int, limiter: AdaptiveRateLimiter, gate: CallGate
    ) -> Confirmation:
        slot = await limiter.acquire()
        assert slot is not None
        await time.sleep(slot + latency - time.now)
        limiter.answered(slot)
        answers.append(time.now)
        return Confirmation(ConfirmResult(username, Outcome.CONFIRMED, index=index))

    names = [f"u{n}" for n in range(users)]
    stream = ResultStream(
        names, confirm=confirm, concurrency=concurrency, connections=64, limiter=limiter
    )
    async with anyio.create_task_group() as driver:
        driver.start_soon(time.drive)
        async with stream as results:
            confirmed = sum([1 async for _ in results])
        driver.cancel_scope.cancel()
    assert confirmed == users
    first, last = answers[users // 10], answers[-users // 10]
    return (users - 2 * (users // 10)) / (last - first), stream.max_in_flight


def needed(latency: float) -> int:
    return math.ceil(round(PACE * latency * pace.HEADROOM, 6)) + pace.SPARE


@pytest.mark.parametrize("latency", [0.8, 1.5])
async def test_slow_calls_keep_the_pace_without_tuning(latency: float) -> None:
    """Calls of 0.8 s and 1.5 s with no concurrency given: >= 0.9 of the pace, and no more in
    flight than the pace times the latency (with its headroom) needs."""
    rate, peak = await run(latency, 400, None)
    assert rate >= 0.9 * PACE
    assert peak <= needed(latency)


async def test_fast_calls_keep_few_in_flight() -> None:
    """30 ms calls at 40/s need a handful in flight, not the 64 connections allowed."""
    rate, peak = await run(0.03, 200, None)
    assert rate >= 0.9 * PACE
    assert peak <= needed(0.03) < 10


async def test_concurrency_is_a_cap() -> None:
    """concurrency=10 caps the calls in flight even where the pace needs more."""
    rate, peak = await run(0.8, 100, 10)
    assert peak == 10
    assert rate <= 10 / 0.8 + 1e-9


def test_calls_needed_follows_the_latency_measured() -> None:
    """Before any answer: the cap; then the pace times the averaged latency, within [1, cap]."""
    now = [0.0]
    limiter = AdaptiveRateLimiter(PACE, clock=lambda: now[0])
    assert limiter.latency is None
    assert limiter.calls_needed(64) == 64
    for n in range(100):
        now[0] = n * 0.025 + 0.5
        limiter.answered(n * 0.025)
    assert limiter.latency == pytest.approx(0.5)
    assert limiter.calls_needed(64) == needed(0.5)
    assert limiter.calls_needed(8) == 8
