"""The pacer: an even pace under Cognito's shared quota that yields to live sign-ups.

The pace, the rate the quota leaves and how each throttle changes it, is ``_pace``'s: its
docstring holds the algorithm, and the end of this one the simulation's figures that chose its
constants. This module turns the pace into slots, one call each:

- While it explores (the start, a probe, a run) each call comes at a random point of its own slot
  of ``1 / rate`` (``JITTER``); while it holds, at the slot's start. Evenly spaced calls are
  the last to be refused when the bucket runs dry, since live traffic arrives in clumps: in the
  real benchmark, live sign-ups took 10 refusals over a second before the pace saw its first
  one. Spaced at random, the pace meets the clumps and sees refusals at once; one call a slot
  keeps any second to ``rate + 1`` calls, so the user's ceiling holds at every scale (gaps drawn
  from an exponential, as for live traffic, did about as well but let seconds run 20% over the
  ceiling); held evenly, it passes fixed one-second windows at their limit (random spacing in
  every phase cost them 20% of the quota in the simulation). Against the fake Cognito in its own
  process (``python3 dev.py bench``, scenario 5) the random spacing mattered more than in the
  simulation: at the default rate the live sign-ups throttled went from 1.2% and 1.0% (two
  runs, evenly spaced) to 0.30-0.59% (before the runs of refusals).
- A cut wakes the calls that wait for a slot at the old pace: they take a new one (in the
  simulation, against the 0.1 pacer, this took the worst seed's live sign-ups throttled from
  3.8% to 1.2%).
- The pace's clock stops while nobody uses it (``IDLE``): an hour without calls neither
  completes a hold nor grows a probe, since nothing was tested.
- The pace also says how many calls in flight it needs (``calls_needed``): its rate times the
  latency measured from each call's slot to its answer (``LATENCY_WEIGHT``), times
  ``HEADROOM``, plus ``SPARE``. The bulk engine sizes its calls in flight by it, so calls of
  800 ms keep a 40/s pace (42 in flight: 38.7/s against the fake, where 16 workers gave 18.5/s)
  and calls of 30 ms keep 4 in flight rather than queueing dozens on the pace.

**The figures.** The constants (``_pace``'s and these) were chosen with ``python3 -m
benchmarks.pacer_sim 10``: this pacer on a virtual clock against a 50/s token bucket with a
burst of 50 (or fixed one-second windows), 30 ms latency, 16 workers, 2,000 users, live sign-ups
Poisson (at 20/s unless named) and never retried, 10 seeds; ``docs/benchmarks.md`` says what
each constant's alternatives did. Medians over the seeds, the worst seed in brackets
(processes: on their own -> counted)::

    scenario                       migration rate              live sign-ups throttled
    live 20/s, rate=40 (default)   1.00 of what live leaves    0.30% (0.67%)
    live 20/s, rate=60 or None     0.98                        0.42% (0.90%)
    no live, rate=60/200/None      0.99/1.00/1.00 of quota (0.1% of calls throttled)
    fixed 1 s windows, rate=60     0.97 of the quota           (0.25% of calls throttled)
    live for 30 s, then none       the last quarter at 47.4/48.1/s of 50 (rate=60/None)
    growth 10->30/s at 20 s        0.96                        after it: 1.15% worst seed
    2 processes, live 20/s         0.88 -> 0.96                0.77% (1.29%) -> 0.18% (0.50%)
    4 processes, live 20/s         0.79 -> 0.92                1.33% (1.82%) -> 0.30% (0.49%)

    spikes (inside them)           migration rate              in-spike throttled (floor)
    15->45/s 5 s every 20 s        0.80                        4.0% (5.1%)    3.0%
    10->48/s 3 s every 12 s        0.81                        5.9% (8.8%)    5.3%
    20->40/s 10 s every 30 s       0.78                        2.0% (2.7%)    0.9%
    15->48/s 3 s every 15 s        0.94                        5.8% (10.4%)   5.2%
    20->45/s 8 s every 40 s        0.86                        4.8% (8.6%)    1.6%
    15->45/s, rate=60 or None      0.81                        3.4% (6.3%)    3.0%

The floor is ``python3 -m benchmarks.pacer_sim floor 10`` at a hold of 0.93 of the room: a
pacer that knows when each spike ends and stops at its first refusal in one. No pacer that
holds as much between spikes and learns from throttles alone can do better, and holding lower
(a reserve) barely lowers it (``docs/benchmarks.md``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from collections.abc import Awaitable, Callable, Iterator
from typing import Final, Protocol

import anyio

from ._clock import now as loop_time
from ._pace import DEFAULT_QUOTA, Pace

__all__ = ["AdaptiveRateLimiter"]

logger = logging.getLogger("cognito_confirm")
JITTER: Final = 1.0
"""While exploring, a call comes up to this share of its slot after the slot's start ..."""
JITTER_MIN_GAP: Final = 0.002
"""... when slots are this many seconds apart or more: at a faster pace no live traffic's clump
is that fine, and waiting a fraction of a millisecond per call costs a trip through the event
loop that breaks aiobotocore's batching of socket reads and writes."""

IDLE: Final = 1.0
"""After this many seconds with no call, the pace's clock stops: time unused tests nothing."""
LATENCY_WEIGHT: Final = 0.1
"""Each answer's latency moves the latency measured by this share of the difference."""
HEADROOM: Final = 1.25
"""Calls in flight: the pace times the latency measured, times this (latency varies, and a
probe raises the pace), plus ``SPARE``."""
SPARE: Final = 2
CENSUS_EVERY: Final = 0.2
"""Seconds between counts of the bulk runs that pace the same quota on this host (``_peers``):
a peer's cut reaches the others this late at most."""


class Peers(Protocol):
    """A census of the processes pacing one quota (``_peers.Census``; the simulation's own)."""

    def count(self) -> tuple[int, int]:
        """The members alive now (this one included), and the cuts the others published."""

    def publish(self, cuts: int) -> None:
        """Tell the others this member has cut its pace ``cuts`` times for its own throttles."""

    def leave(self) -> None:
        """Stop counting this one."""


class AdaptiveRateLimiter:
    """Spaces calls evenly at the rate the shared quota leaves, learnt from throttling.

    One pacer serves every call of a ``CognitoConfirmer`` (single confirmations and bulk runs
    alike), so a web service and a migration in one process keep one pace. The docstrings of
    ``cognito_confirm._pace`` (the pace, learnt from throttles) and of this module (its slots)
    explain the algorithm and the figures behind its constants.

    Args:
        rate: The most calls per second the user allows; ``None`` for no ceiling of the
            user's (the pace still learns the quota).
        quota: The account's UserCreation quota, as far as it is known (``rate="auto"`` reads
            it; Cognito's default 50/s otherwise). The pace starts at ``rate``, but no higher
            than 98% of this, where it holds 5 s: a higher ceiling is reached by probing, 5% a
            second, not by emptying the quota's burst in the first second (the ``_pace``
            docstring explains why).
        clock: Seconds, monotonic (default: the running loop's); injectable for simulations.
        sleep: How to wait; injectable likewise.

    Attributes:
        throttles: Throttled calls reported.
        cuts: Cuts of the pace (a run of refusals may cut it several times).
        epoch: Changes at every cut (a slot reserved before it is stale).
    """

    def __init__(
        self,
        rate: float | None,
        *,
        quota: float = DEFAULT_QUOTA,
        clock: Callable[[], float] = loop_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if rate is not None and not (rate > 0 and math.isfinite(rate)):
            msg = f"rate must be a positive number of requests per second or None, got {rate}"
            raise ValueError(msg)
        if not (quota > 0 and math.isfinite(quota)):
            msg = f"quota must be a positive number of requests per second, got {quota}"
            raise ValueError(msg)
        self._max_rate = rate
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - spacing calls, not security
        now = clock()
        self._pace = Pace(rate, now, quota)
        self._next_slot = now
        self._latency: float | None = None
        self._census: Peers | None = None
        self._census_due = -math.inf
        self._peers = 1
        self._heard = -1  # the peers' cuts at the last count (-1: not counted yet)
        self._published = 0  # this process's cuts for its own throttles, told to the peers
        self._runs = 0
        self.throttles = 0
        self.cuts = 0
        self.epoch = 0

    def __repr__(self) -> str:
        ceiling = "None" if self._max_rate is None else f"{self._max_rate:g}/s"
        return (
            f"<AdaptiveRateLimiter rate={self.rate:.1f}/s max_rate={ceiling} "
            f"cuts={self.cuts} throttles={self.throttles}>"
        )

    @property
    def rate(self) -> float:
        """The current pace in calls per second."""
        now = self._clock()
        self._pace.finish_return(now)
        return self._rate_at(now)

    @property
    def max_rate(self) -> float | None:
        """The ceiling the user allows (None: none)."""
        return self._max_rate

    @property
    def latency(self) -> float | None:
        """Seconds from a call's slot to its answer, averaged; None before the first answer."""
        return self._latency

    def calls_needed(self, cap: int) -> int:
        """How many calls in flight keep up with the pace: at most ``cap``, at least 1.

        Little's law: a pace of ``rate`` calls a second, each taking ``latency`` seconds, has
        ``rate * latency`` calls in flight; ``HEADROOM`` and ``SPARE`` absorb the latency's
        spread. More would only wait for their slots; before any answer, ``cap``.
        """
        if self._latency is None:
            return cap
        in_flight = self.rate * self._latency * HEADROOM
        if in_flight >= cap:
            return max(1, cap)  # as below, without rounding a figure the cap replaces
        needed = math.ceil(round(in_flight, 6)) + SPARE
        return max(1, min(cap, needed))

    def _measure(self, sent_at: float, now: float) -> None:
        latency = max(0.0, now - sent_at)
        if self._latency is None:
            self._latency = latency
        else:
            self._latency += LATENCY_WEIGHT * (latency - self._latency)

    def _rate_at(self, now: float) -> float:
        """The pace at ``now`` (the simulation's reactive floor replaces it)."""
        return self._pace.rate_at(now)

    def wait_time(self) -> float:
        """Seconds until the next free slot (0 when one is free now)."""
        return max(0.0, self._next_slot - self._clock())

    def reserve(self, max_wait: float | None = None) -> float | None:
        """Take the next slot and return its time, or None if it is more than ``max_wait`` away.

        Synchronous, for callers that schedule their own waiting (the simulation does).
        """
        return self.claim(max_wait)[0]

    def claim(self, max_wait: float | None = None) -> tuple[float | None, float]:
        """``reserve()``, and the clock's time it read: a slot not after that time is due now.

        For a caller that goes at once when the slot is due (the retry loop) and waits with
        ``wait_for()`` otherwise; the clock is read once.
        """
        now = self._clock()
        idle = now - self._next_slot
        if idle > IDLE:
            # Nobody used the pace meanwhile, so nothing tested it: its clock stood still.
            self._pace.stand_still(idle)
        if self._census is not None and now >= self._census_due:
            self._census_due = now + CENSUS_EVERY
            peers, cuts = self._census.count()
            self._count_peers(peers, now)
            if cuts > self._heard >= 0:
                # A peer cut for a throttle: the bucket is dry for everyone, so cut as if
                # this process had been refused (its own rules say by how much).
                self._cut(now, now, heard=True)
            self._heard = cuts
        self._pace.finish_return(now)
        start = max(now, self._next_slot)
        gap = 1.0 / self._rate_at(start)
        if max_wait is not None and start - now > max_wait:
            return None, now
        slot = start
        if JITTER and gap >= JITTER_MIN_GAP and self._pace.exploring(start):
            slot += JITTER * gap * self._rng.random()
            if max_wait is not None:
                slot = min(slot, now + max_wait)  # a free slot is not refused for its jitter
        if slot > now:
            self._pace.waited = now
        self._next_slot = start + gap
        return slot, now

    @contextlib.contextmanager
    def among_peers(self, join: Callable[[], Peers | None]) -> Iterator[None]:
        """While a bulk run lasts, pace this process's share of the runs a census counts.

        ``join`` makes this process a member (or returns None: no census), once for all the
        runs that overlap; the last to end leaves, and the pace is the whole process's again.
        """
        if not self._runs:
            self._census = join()
            self._census_due = -math.inf
            self._heard = -1
        self._runs += 1
        try:
            yield
        finally:
            self._runs -= 1
            if not self._runs and self._census is not None:
                self._census.leave()
                self._census = None
                self._count_peers(1, self._clock())

    def _count_peers(self, peers: int, now: float) -> None:
        """The census counted ``peers`` runs: the pace becomes this one's share."""
        if peers == self._peers:
            return
        self._pace.peers_changed(self._peers, peers, now)
        logger.info("processes pacing this quota on this host: %d (were %d)", peers, self._peers)
        self._peers = peers
        self.epoch += 1  # slots given at the old share are stale

    async def acquire(self, max_wait: float | None = None) -> float | None:
        """Wait for this call's slot; return the time it was granted (to pass to ``throttled``).

        With ``max_wait``, return None at once, without taking a slot, when the next slot is
        further away than that (``wait_time()`` says how far).
        """
        slot, now = self.claim(max_wait)
        epoch = self.epoch  # after the claim: a census count in it may have moved the pace
        if slot is None:
            return None
        if slot <= now:
            await anyio.lowlevel.checkpoint()
            return slot
        return await self.wait_for(slot, now, epoch, max_wait)

    async def wait_for(
        self, slot: float, now: float, epoch: int, max_wait: float | None = None
    ) -> float | None:
        """Wait for a slot ``claim()`` gave at ``now`` in ``epoch``; as ``acquire()`` returns.

        A cut of the pace meanwhile makes the slot stale: a new one is taken then.
        """
        await self._sleep(slot - now)
        if self.epoch == epoch:
            return slot
        # The pace was cut while this call waited: its slot belongs to the old pace.
        return await self.acquire(max_wait)

    def answered(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito answered without throttling it."""
        now = self._clock()
        self._measure(sent_at, now)
        self._pace.answered(now)

    def throttled(self, sent_at: float) -> None:
        """Report a call granted at ``sent_at`` that Cognito throttled."""
        self.throttles += 1
        now = self._clock()
        self._measure(sent_at, now)
        if self._cut(sent_at, now, heard=False) and self._census is not None:
            self._published += 1
            self._census.publish(self._published)

    def _cut(self, sent_at: float, now: float, *, heard: bool) -> bool:
        """Cut the pace for a refusal (``heard``: a peer's); whether the pace was cut."""
        cut = self._pace.throttled(sent_at, now, heard=heard)
        if cut is None:
            return False
        rate, settle = cut
        self._next_slot = max(self._next_slot, now + 1.0 / self._rate_at(now))
        self.cuts += 1
        self.epoch += 1
        logger.info(
            "throttled by Cognito%s: pace cut from %.1f to %.1f calls/s (cut %d)",
            " (a peer on this host was)" if heard else "",
            rate,
            settle,
            self.cuts,
        )
        return True
