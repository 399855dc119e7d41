"""The pacer: an even pace under Cognito's shared quota that yields to live sign-ups.

AdminConfirmSignUp shares the UserCreation quota (50 requests/s by default, per account and
region) with the product's live SignUp calls. A migration that takes more than live traffic
leaves makes real users see errors, and it learns the quota only from its own throttles, which
arrive late and rarely: Cognito allows a burst (so an excess shows only once the bucket has
run dry), and calls spaced evenly are the last to be refused when the bucket is empty, since
live traffic comes in clumps (simulated: while a migration ran 20% above what was left, live
sign-ups took 10 throttles for each one it saw). So the pacer must not trust its own
throttles to tell it how far it overshot, and must overshoot rarely.

The algorithm, one cycle per *episode* (throttles of calls sent within ``COOLDOWN`` of the last
cut belong to it and change nothing more)::

    rate ^      probe (grows GROWTH/s) x  throttled
         |                          ..'
         |  hold at MARGIN * C  ..''    <- C: what the quota left this process
         | ____________________'
         |  drain (DRAIN * hold, DRAIN_TIME s) lets the bucket refill
         +-------------------------------------------------> time
           cut   |<------- probe wait (5 s, doubling to 20 s) ------>|

- **Capacity** ``C``: the rate of calls Cognito let through in the last ``WINDOW`` seconds,
  scaled down by the share refused (a throttled share *f* means live traffic is losing about as
  much), never above the rate we sent. The first episode, when nothing is known yet and the
  burst hid the excess for seconds, settles ``FIRST`` lower still (unless the first throttle came
  within ``QUICK_START`` s: no burst to hide anything).
- **Drain, then hold**: ``DRAIN_TIME`` seconds at ``DRAIN`` of the hold rate, so the emptied bucket
  refills, then ``MARGIN * C``: far enough below C that Poisson bursts of live traffic do not
  empty the bucket.
- **Probe** after the probe wait: the rate grows by ``GROWTH`` a second (exponentially, so freed
  capacity is found within tens of seconds). A probe throttled after sending fewer excess calls
  than a burst could hide was masked by the burst: its rate is no evidence, the hold rate stays,
  and the next probe waits twice as long (at most ``PROBE_WAIT_MAX``). A probe that was throttled
  almost at once measured the ceiling directly (fixed one-second windows behave so) and may raise
  the hold rate to ``MARGIN`` times its rate. A probe that sent more excess than any burst could
  hide found new capacity: its measured C counts and the probe wait starts short again.
- ``rate`` is the user's ceiling; ``None`` means none, not "no pacing": the pace starts at
  Cognito's default quota and learns the same way. A pace with a ceiling starts at it.
- A cut wakes the calls that wait for a slot at the old pace: they take a new one.

The constants were chosen with ``python3 -m benchmarks.pacer_sim`` (this pacer on a virtual clock
against a 50/s token bucket with a burst of 50, 30 ms latency, 16 workers, 2,000 users, live
sign-ups Poisson at 20/s never retried; 10 seeds). Median over the seeds, worst seed in brackets:

    scenario                      share of what live left   live sign-ups throttled
    live 20/s, rate=40 (default)  1.01                      0.5% (1.3%)
    live 20/s, rate=60 or None    1.00                      0.8% (1.7%)
    no live, rate=60/200/None     1.01 of the quota         (0.15-0.2% of calls throttled)
    fixed 1 s windows, rate=60    0.91 of the quota         (0.25% of calls throttled)
    live for 30 s, then none      last quarter 50.8/s (worst 40.9/s)

Against the same scenarios the 0.1 pacer (cut 15% at most once a second, climb back within
seconds) let 3-4% of live sign-ups be throttled; MARGIN 0.95 raised that to 0.9%, 0.90 cost
4% of throughput; a probe wait capped at 10 s found freed capacity sooner but doubled the
harm of the live scenarios.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

__all__ = ["AdaptiveRateLimiter"]

DEFAULT_QUOTA: Final = 50.0
"""Cognito's default UserCreation quota: where a pace with no ceiling of the user's starts."""
MARGIN: Final = 0.93
"""The hold rate as a share of the capacity measured at the last throttle."""
FIRST: Final = 0.85
"""The first episode's extra margin: the burst hid how far the start rate overshot."""
QUICK_START: Final = 2.0
"""A first throttle sooner than this many seconds after the start had no burst to hide it."""
DRAIN: Final = 0.8
"""Right after a cut, the pace is this share of the hold rate ..."""
DRAIN_TIME: Final = 2.0
"""... for this many seconds, so that the emptied bucket refills."""
COOLDOWN: Final = 1.0
"""Calls sent this soon after a cut reflect the old pace: their throttles cut nothing."""
WINDOW: Final = 1.0
"""Seconds over which the admitted rate is measured."""
GROWTH: Final = 0.05
"""A probe's rate grows by this share each second (exponentially)."""
PROBE_WAIT_MIN: Final = 5.0
"""Seconds of hold before the first probe after a cut ..."""
PROBE_WAIT_MAX: Final = 20.0
"""... doubled after each probe the burst masked, up to this."""
QUICK_SECONDS: Final = 0.75
"""A probe refused after fewer excess calls than this many seconds of the hold rate was not
masked by a burst: its rate measured the ceiling."""
BURST_SECONDS: Final = 2.0
"""The largest burst assumed, in seconds of capacity: a probe that sent more excess than this
found new capacity."""
MIN_RATE: Final = 0.5
"""The pace never falls below this, so a run always moves."""


class AdaptiveRateLimiter:
    """Spaces calls evenly at the rate the shared quota leaves, learnt from throttling.

    One pacer serves every call of a ``CognitoConfirmer`` (single confirmations and bulk runs
    alike), so a web service and a migration in one process keep one pace. The module
    docstring explains the algorithm and the figures behind its constants.

    Args:
        rate: The most calls per second the user allows; ``None`` for no ceiling of the
            user's (the pace still learns the quota).
        clock: Seconds, monotonic; injectable for tests and simulations.
        sleep: How to wait; injectable likewise.

    Attributes:
        throttles: Throttled calls reported.
        cuts: Episodes that cut the pace.
        epoch: Changes at every cut (a slot reserved before it is stale).
    """

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            msg = f"rate must be a positive number of requests per second or None, got {rate}"
            raise ValueError(msg)
        self._max_rate = rate
        self._ceiling = rate if rate is not None else math.inf
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self._settle = rate if rate is not None else DEFAULT_QUOTA
        self._proven = False
        self._started = now
        self._probe_wait = PROBE_WAIT_MIN
        # Start at the ceiling the user allows (else the default quota) as if a hold had just
        # ended: the first throttle shows where the quota really is.
        self._cut_at = now - self._probe_wait
        self._next_slot = now
        self._answers: deque[float] = deque()
        self._throttled_at: deque[float] = deque()
        self.throttles = 0
        self.cuts = 0
        self.epoch = 0

    @property
    def rate(self) -> float:
        """The current pace in calls per second."""
        return self._rate_at(self._clock())

    @property
    def max_rate(self) -> float | None:
        """The ceiling the user allows (None: none)."""
        return self._max_rate

    def _rate_at(self, now: float) -> float:
        since = now - self._cut_at
        if since < DRAIN_TIME and self.cuts:
            rate = DRAIN * self._settle
        elif since < self._probe_wait:
            rate = self._settle
        else:
            rate = self._settle * math.exp(GROWTH * (since - self._probe_wait))
        return max(MIN_RATE, min(rate, self._ceiling))

    def wait_time(self) -> float:
        """Seconds until the next free slot (0 when one is free now)."""
        return max(0.0, self._next_slot - self._clock())

    def reserve(self, max_wait: float | None = None) -> float | None:
        """Take the next slot and return its time, or None if it is more than ``max_wait`` away.

        Synchronous, for callers that schedule their own waiting (the simulation does).
        """
        now = self._clock()
        slot = max(now, self._next_slot)
        if max_wait is not None and slot - now > max_wait:
            return None
        self._next_slot = slot + 1.0 / self._rate_at(slot)
        return slot

    async def acquire(self, max_wait: float | None = None) -> float | None:
        """Wait for this call's slot; return the time it was granted (to pass to ``throttled``).

        With ``max_wait``, return None at once, without taking a slot, when the next slot is
        further away than that (``wait_time()`` says how far).
        """
        while True:
            epoch = self.epoch
            slot = self.reserve(max_wait)
            if slot is None:
                return None
            now = self._clock()
            if slot <= now:
                await anyio.lowlevel.checkpoint()
                return slot
            await self._sleep(slot - now)
            if self.epoch == epoch:
                return slot
            # The pace was cut while this call waited: its slot belongs to the old pace.

    def answered(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito answered without throttling it."""
        now = self._clock()
        self._answers.append(now)
        _trim(self._answers, now - WINDOW)

    def throttled(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito throttled."""
        self.throttles += 1
        now = self._clock()
        self._throttled_at.append(now)
        _trim(self._throttled_at, now - WINDOW)
        _trim(self._answers, now - WINDOW)
        if sent_at < self._cut_at + COOLDOWN:
            return
        rate = self._rate_at(sent_at)
        since = sent_at - self._cut_at
        probing = since >= self._probe_wait and rate > self._settle
        settle = MARGIN * self._capacity(rate)
        if not self._proven and sent_at - self._started >= QUICK_START:
            settle *= FIRST
        if probing and self._proven:
            excess = self._probe_excess(sent_at) / self._settle
            if excess < QUICK_SECONDS:
                settle = max(self._settle, min(MARGIN * rate, settle))
                self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
            elif excess < BURST_SECONDS / MARGIN:
                settle = min(settle, self._settle)
                self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
            else:
                self._probe_wait = PROBE_WAIT_MIN
        self._settle = max(MIN_RATE, min(settle, self._ceiling))
        self._proven = True
        self._cut_at = now
        self._next_slot = max(self._next_slot, now + 1.0 / self._rate_at(now))
        self.cuts += 1
        self.epoch += 1

    def _capacity(self, rate: float) -> float:
        """What the quota leaves this process, judged from the last ``WINDOW`` seconds."""
        answered, refused = len(self._answers), len(self._throttled_at)
        if not answered:
            return rate * DRAIN
        refused_share = refused / (answered + refused)
        return min(rate, answered / WINDOW) * (1 - refused_share)

    def _probe_excess(self, until: float) -> float:
        """Calls sent by the probe ending at ``until`` above the capacity its hold stood for."""
        capacity = self._settle / MARGIN
        start = self._cut_at + self._probe_wait
        # The probe's rate is settle * exp(GROWTH * t); it passes ``capacity`` at t0.
        t0 = math.log(capacity / self._settle) / GROWTH
        t1 = min(until - start, math.log(self._ceiling / self._settle) / GROWTH)
        if t1 <= t0:
            return 0.0
        grown = self._settle / GROWTH * (math.exp(GROWTH * t1) - math.exp(GROWTH * t0))
        return grown - capacity * (t1 - t0)


def _trim(times: deque[float], oldest: float) -> None:
    while times and times[0] < oldest:
        times.popleft()
