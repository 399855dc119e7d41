"""The adaptive pacer, on a fake clock: even spacing, a cut per throttle episode, recovery."""

from __future__ import annotations

import heapq
import itertools
import math

import pytest

from cognito_confirm import AdaptiveRateLimiter


class FakeTime:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter(rate: float | None, time: FakeTime, **options: float) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(rate, clock=time.clock, sleep=time.sleep, **options)


async def test_calls_are_spaced_evenly_without_burst() -> None:
    """At 50/s, 100 calls take 2 s of fake time with no two calls closer than 20 ms."""
    time = FakeTime()
    pacer = limiter(50, time)
    slots = [await pacer.acquire() for _ in range(100)]
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) == pytest.approx(0.02)
    assert slots[-1] == pytest.approx(99 * 0.02)


async def test_unlimited_never_waits() -> None:
    """rate=None hands out every slot at once."""
    time = FakeTime()
    pacer = limiter(None, time)
    for _ in range(1000):
        await pacer.acquire()
    assert time.now == 0
    assert pacer.rate is None
    pacer.throttled(0.0)
    assert pacer.throttles == 1
    assert pacer.cuts == 0


async def test_one_cut_per_throttle_episode() -> None:
    """Throttles of calls sent before the last cut do not cut again."""
    time = FakeTime()
    pacer = limiter(60, time, decrease=0.5)
    sent = [await pacer.acquire() for _ in range(5)]
    for sent_at in sent:
        pacer.throttled(sent_at)
    assert pacer.cuts == 1
    assert pacer.throttles == 5
    assert pacer.rate == pytest.approx(30, rel=0.01)
    soon = await pacer.acquire()
    pacer.throttled(soon)  # within the cool-down: counted, no cut
    assert (pacer.cuts, pacer.throttles) == (1, 6)
    time.now += 1.5
    later = await pacer.acquire()
    pacer.throttled(later)
    assert pacer.cuts == 2


async def test_rate_recovers_towards_the_ceiling_then_probes_slowly() -> None:
    """After a cut the rate climbs back fast below the ceiling and slowly above it."""
    time = FakeTime()
    pacer = limiter(100, time, decrease=0.5)
    pacer.throttled(await pacer.acquire())
    assert pacer.rate == pytest.approx(50, rel=0.01)
    time.now += 2.0  # one recovery time constant: 63% of the gap closed
    assert pacer.rate == pytest.approx(100 - 50 * math.exp(-1), rel=0.01)
    time.now += 60
    assert pacer.rate == 100  # never above the configured rate


async def test_converges_on_a_quota_below_the_configured_rate() -> None:
    """Against a simulated 50/s token bucket, rate 60 sustains >=95% with <2% throttled."""
    time = FakeTime()
    pacer = limiter(60, time)
    quota, tokens, refilled_at = 50.0, 50.0, 0.0
    latency, sent, throttled, done = 0.03, 0, 0, 0
    answers: list[tuple[float, float, bool]] = []
    while done < 3000:
        slot = await pacer.acquire()
        while answers and answers[0][0] <= time.now:
            _, sent_at, was_throttled = heapq.heappop(answers)
            if was_throttled:
                pacer.throttled(sent_at)
        tokens = min(quota, tokens + (slot - refilled_at) * quota)
        refilled_at = slot
        sent += 1
        if tokens >= 1:
            tokens -= 1
            done += 1
            heapq.heappush(answers, (slot + latency, slot, False))
        else:
            throttled += 1
            heapq.heappush(answers, (slot + latency, slot, True))
    assert done / time.now >= 0.95 * quota
    assert throttled / sent < 0.02
    assert pacer.cuts >= 1


def test_bad_parameters() -> None:
    """Non-positive or infinite rates and decreases outside (0, 1) are refused."""
    for rate in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="rate"):
            AdaptiveRateLimiter(rate)
    with pytest.raises(ValueError, match="decrease"):
        AdaptiveRateLimiter(10, decrease=1.5)
    assert AdaptiveRateLimiter(10).max_rate == 10
