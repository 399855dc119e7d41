"""A client-side pacer whose rate backs off when Cognito throttles and then creeps back.

Why not aiolimiter or botocore's adaptive mode: aiolimiter is a fixed-rate leaky bucket that
allows a burst of ``max_rate`` calls at once, and its rate cannot change while it runs; botocore's
adaptive limiter lives inside one client's retry handler, starts unlimited and only learns the
quota by being throttled, which costs failed calls (the benchmarks show how many). What this
job needs is an even pace, no burst, shared by every task of a run, that slows the whole run on
the first throttle and then probes back up gently.

The algorithm: calls are spaced ``1 / rate`` apart. A throttled call cuts the rate by
``decrease`` and records the rate it happened at as the ceiling, but only if the call was sent
more than ``cooldown`` seconds after the previous cut: calls in flight reflect the old rate, and
right after the quota's bucket runs dry even calls below the quota are throttled for a moment by
arrival jitter; cutting again for those would leave the rate far below the quota (measured:
0.944 of the quota without the cool-down, 0.99 with it).
Between throttles the rate climbs back: quickly while far below the ceiling, slowly (a small
fraction of the ceiling per second) near and above it, never above the configured rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

__all__ = ["AdaptiveRateLimiter"]

_RECOVERY_TIME: Final = 2.0
"""Seconds for the rate to close 63% of its gap to the ceiling after a cut."""
_PROBE_PER_SECOND: Final = 0.01
"""Above the recovered ceiling, the rate grows by this fraction of the ceiling each second."""


class AdaptiveRateLimiter:
    """Spaces calls evenly at an adaptive rate; ``rate=None`` means no limit at all."""

    def __init__(
        self,
        rate: float | None,
        *,
        decrease: float = 0.85,
        cooldown: float = 1.0,
        min_rate: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            msg = f"rate must be a positive number of requests per second or None, got {rate}"
            raise ValueError(msg)
        if not 0 < decrease < 1:
            msg = f"decrease must be between 0 and 1, got {decrease}"
            raise ValueError(msg)
        self._max_rate = rate
        self._rate = rate
        self._decrease = decrease
        self._cooldown = cooldown
        self._min_rate = min(min_rate, rate) if rate is not None else min_rate
        self._clock = clock
        self._sleep = sleep
        self._ceiling: float | None = None
        self._next_slot = 0.0
        self._last_cut = -math.inf
        self._last_update = clock()
        self.throttles = 0
        self.cuts = 0

    @property
    def rate(self) -> float | None:
        """The current rate in calls per second (None when unlimited)."""
        self._grow()
        return self._rate

    @property
    def max_rate(self) -> float | None:
        """The configured rate, which the adaptive rate never exceeds."""
        return self._max_rate

    async def acquire(self) -> float:
        """Wait for this call's slot; return the time it was granted (to pass to ``throttled``)."""
        now = self._clock()
        if self._max_rate is None:
            return now
        self._grow()
        assert self._rate is not None  # noqa: S101 - set whenever _max_rate is
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self._rate
        if slot > now:
            await self._sleep(slot - now)
        else:
            # Let other tasks run even when no wait is needed, so one task cannot hog the loop.
            await anyio.lowlevel.checkpoint()
        return slot

    def throttled(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito throttled."""
        self.throttles += 1
        if self._max_rate is None or sent_at <= self._last_cut + self._cooldown:
            return
        self._grow()
        assert self._rate is not None  # noqa: S101 - set whenever _max_rate is
        self._ceiling = self._rate
        self._rate = max(self._min_rate, self._rate * self._decrease)
        self._last_cut = self._clock()
        self._next_slot = max(self._next_slot, self._last_cut + 1.0 / self._rate)
        self.cuts += 1

    def answered(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito answered without throttling it.

        Any answer counts (a success or an error about the user): the call used the quota.
        """

    def _grow(self) -> None:
        now = self._clock()
        elapsed = now - self._last_update
        self._last_update = now
        if self._max_rate is None or self._rate is None or elapsed <= 0:
            return
        ceiling = self._ceiling if self._ceiling is not None else self._max_rate
        probe = _PROBE_PER_SECOND * ceiling * elapsed
        if self._rate < ceiling:
            gap = ceiling - self._rate
            self._rate = ceiling - gap * math.exp(-elapsed / _RECOVERY_TIME)
            # Within a probe step of the ceiling, carry on probing past it.
            if ceiling - self._rate < probe:
                self._rate = ceiling
        else:
            self._rate += probe
        self._rate = min(self._rate, self._max_rate)
