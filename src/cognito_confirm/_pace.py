"""The pace: the rate Cognito's shared quota leaves this process, learnt from throttles.

AdminConfirmSignUp shares the UserCreation quota (50 requests/s by default, per account and
region) with the product's live SignUp calls. A migration that takes more than live traffic
leaves makes real users see errors, and it learns the quota only from its own throttles, which
arrive late and rarely: Cognito allows a burst (so an excess shows only once the bucket has
run dry), and calls spaced evenly are the last to be refused when the bucket is empty, since
live traffic comes in clumps (simulated: while a migration ran 20% above what was left, live
sign-ups took 10 throttles for each one it saw). So the pacer must not trust its own
throttles to tell it how far it overshot, and must overshoot rarely.

``AdaptiveRateLimiter`` (``_ratelimit``) turns the pace into slots, one call each; this module
holds what the pace is at each moment and how each throttle reported changes it.

The algorithm, one cycle per *episode* (throttles of calls sent within ``COOLDOWN`` of the last
cut belong to it and change nothing more)::

    rate ^                                  x  throttled: what the probe showed sets the hold
         |                               .
         |                           . .   probe: grows GROWTH a second
         |  hold at MARGIN * C  . .
         | ____________________.
         |  drain: DRAIN * hold for DRAIN_TIME s, so the emptied bucket refills
         +-------------------------------------------------> time
           cut   |<------- probe wait: 5 s, doubling to 20 s ------->|

- **Capacity** ``C`` (``_capacity``): the calls Cognito let through in the last ``WINDOW``
  seconds when calls had to wait for the pace (the pace itself when none did: a web service's
  few calls say what it asked for, not what there was), scaled down by the share refused.
- **What a throttle teaches** depends on when it came:

  - at a busy start (below; its calls waiting for the pace) before ``ASSUMED_BURST`` calls were
    let through (``_shared_capacity``, first): this process alone could not have emptied the
    bucket, so others did (processes started at once). What it was let through, as a share of
    all a full bucket and ``DEFAULT_QUOTA`` gave since the start, times that quota, is its
    share S; the hold is ``SHARED * MARGIN * S`` (live traffic, among the others, won't yield);
  - at the start, within ``QUICK_START`` s: nothing hid the excess (fixed windows refuse at
    once), so C is trusted and the hold is ``QUICK_MARGIN * C``;
  - at a start that held (below), during its probe, before the probe sent ``START_QUICK`` s of
    the start's pace in excess of it: fixed windows, which refuse the probe as it crosses the
    quota, or a bucket that live traffic drained meanwhile (below 10/s: more would have
    drained it within the hold). The start's pace holds, without a drain; if refusals go on,
    the run that follows returns to ``FIRST * MARGIN * C``;
  - later at the start (``_drained_capacity``): a burst hid the excess, and live traffic took
    the first refusals, so C says little; how long the burst lasted says more. A busy start
    that emptied a bucket of ``ASSUMED_BURST`` calls in T seconds had (calls - burst) / T a
    second of room; the hold is ``MARGIN`` times that (``FIRST * MARGIN * C`` when the start
    was not busy or the figure is implausible);
  - during a hold younger than ``SAFE`` s: the hold was not safe after all (live traffic
    grew), so the hold becomes ``FIRST * MARGIN * C`` (after a dip, below); in a hold that ran
    ``SAFE`` s without a refusal, the hold stays (after a dip);
  - during a probe from a hold that proved safe (``_after_probe``): refused almost at once,
    the probe met the ceiling itself (fixed windows), and the hold may rise, with no drain,
    toward ``QUICK_MARGIN * C``, by ``QUICK_STEP`` at most, and to ``QUICK_MARGIN`` of the pace
    ``QUICK_LOOKBACK`` s before at most (a window refuses a second or two after the pace
    crossed its limit). Otherwise the probe is judged by the least capacity that could have
    emptied a bucket of ``ASSUMED_BURST`` (or ``BURST_SECONDS`` of capacity, if more) along
    its path (``_probe``): if that is no more than the hold stood for, a burst explains it
    all, the hold stays, and the next probe waits twice as long; if more, the room is real
    (live traffic went away) and the hold becomes ``MARGIN`` times it.

- One episode cuts the hold to half the refused call's rate at most (``HALVING``; a shared
  start's may cut more): a single refused call of a web service must not bring its pace near
  zero for long.

**Runs of refusals** (issue #16: live traffic that spikes to 40-48/s for seconds). Every
episode but a quick start's opens a *run*, which remembers the hold to come back to (the hold
that was refused, if it had proved safe; else the one the episode taught)::

    rate ^  hold                                      climb back over RETURN_TIME
         | ________                                  ________________
         |         |  dip: DIP * rate               /
         |         |_____                          /
         |               |_____ CHAIN_CUT * rate  /
         +---------x-----x-----|<-- QUIET s, no cut -->|----------------> time
                   refused  refused again RECUT s or more later

- A refusal in a hold dips the pace at once to ``DIP`` of its rate: the bucket is dry, live
  traffic takes most refusals (it comes in clumps, the pace evenly: a pace halved to 10/s saw
  one refusal in 2 s while live sign-ups took 7), and every second the pace stays above the
  room a spike leaves costs live sign-ups. A pace that no call waited for in the last
  ``WINDOW`` s (a web service's few calls set their own rate) dips to ``HALVING`` instead.
  The start's and a probe's refusals cut as before: a probe is refused for going too far more
  often than for a spike.
- A refusal of a call sent ``RECUT`` s or more after the last cut means the run goes on: the
  pace is cut to ``CHAIN_CUT`` of its rate each time (not once per ``COOLDOWN``).
- ``LONE_QUIET`` s without a cut after a lone refusal, or ``QUIET`` s after more, the pace
  climbs back to the run's hold over ``RETURN_TIME`` s (slots given during the dip already
  follow the climb). After a run of two or more the next probe waits ``RETURN_PROBE_WAIT`` s:
  spikes come back, and a probe that finds no room empties the bucket before the next one.
- A return refused on the way up, or within ``SAFE`` s of its end, failed: the spike outlasted
  the wait, so the pace dips again (``CHAIN_CUT``) and the wait doubles. After
  ``RETURN_TRIES`` failed returns live traffic grew for good: the hold is halved (the dips
  refilled the bucket, so C counts a burst) and the run ends.
- So one isolated refusal costs a dip of ``LONE_QUIET + RETURN_TIME / 2`` s (for a web service
  a halving, no deeper), and then at most one halving of the hold (none if it had proved safe);
  refusals that go on take another tenth of the pace every ``RECUT`` s or more; and the hold
  is back within seconds of the last refusal, without probing above it.
- ``rate`` is the user's ceiling; ``None`` means none of the user's, not "no pacing". The pace
  starts at the ceiling but no higher than ``START_SHARE`` of the quota (Cognito's default
  50/s, unless ``rate="auto"`` read the account's): a start above the quota empties the burst
  within a second, before a refusal can say how far it overshot (simulated, live 20/s: 1.08%
  and 1.55% of live sign-ups throttled at rate=100 and 200, 0.43% since). A start held there
  (a ceiling above it) holds ``PROBE_WAIT_MIN`` s, then probes: fixed one-second windows never
  refuse it, even spaced at random (one call a slot, at most the quota's calls in a window), so
  their refusal comes as the probe crosses the quota, which the start's rule above reads (the
  start grew from the quota at once before: a refusal 1-2 s in looked like a bucket beside live
  traffic, and the hold fell to 0.6-0.8 of the quota; 0.81 -> 0.97 of it, 40 seeds).

**Several processes** share the quota: on one host a census counts them (``_peers``, whose
docstring has the rules and figures) and ``peers_changed`` makes the pace this one's share. A
busy start refused before its share of ``ASSUMED_BURST`` calls got through (others emptied the
bucket: processes on other hosts) holds at ``SHARED * MARGIN`` times its share of what it gave.

The constants were chosen in a simulation (``benchmarks/pacer_sim.py``); ``_ratelimit``'s
docstring holds its figures, ``docs/benchmarks.md`` what each constant's alternatives did.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from ._probe import excess, least_capacity

__all__ = ["DEFAULT_QUOTA", "MIN_RATE", "Pace"]

DEFAULT_QUOTA: Final = 50.0
"""Cognito's default UserCreation quota: where a pace with no ceiling of the user's starts."""
MARGIN: Final = 0.93
"""The hold rate as a share of the capacity measured at the last throttle."""
FIRST: Final = 0.85
"""The first episode's extra margin: the burst hid how far the start rate overshot."""
QUICK_START: Final = 1.0
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
masked by a burst: it met the ceiling itself."""
QUICK_STEP: Final = 1.03
"""... but by this factor at most at a time: live traffic can make a refusal look quick."""
QUICK_MARGIN: Final = 0.97
"""The hold after a refusal nothing masked, as a share of the capacity measured then."""
BURST_SECONDS: Final = 1.25
"""The largest burst assumed, in seconds of the capacity the hold stood for."""
ASSUMED_BURST: Final = 50.0
"""The burst assumed at the start (one second of the default quota), to judge how far the
start overshot from how long the burst lasted."""
BUSY: Final = 0.9
"""A start whose calls came at this share of the pace or more kept the pace busy."""
SHARED: Final = 0.72
"""The hold after a start refused before it alone could empty the bucket, as a share of
``MARGIN`` times the capacity its share of the bucket's calls stood for."""
HALVING: Final = 0.5
"""One episode cuts the pace to no less than this share of the rate the refused call had."""
MIN_RATE: Final = 0.5
"""The pace never falls below this, so a run always moves."""
DIP: Final = 0.1
"""A refusal in a hold dips the pace to this share of the refused call's rate: the bucket is
dry, and live traffic takes most of the refusals."""
RECUT: Final = 0.3
"""While a run of refusals is on, a refusal of a call sent this many seconds after the last cut
(not ``COOLDOWN``) cuts again: the bucket is still dry ..."""
CHAIN_CUT: Final = 0.1
"""... to this share of the refused call's rate."""
SAFE: Final = 5.0
"""A hold that ran this many seconds without a refusal proved safe: a run of refusals returns
to it. A return refused sooner than this after it ended failed."""
LONE_QUIET: Final = 2.0
"""Seconds without a cut after which a lone refusal's dip returns ..."""
QUIET: Final = 3.0
"""... and after which a run of two or more does (doubled after each failed return) ..."""
RETURN_TIME: Final = 1.0
"""... climbing back to the hold, linearly, over this many seconds."""
RETURN_TRIES: Final = 2
"""Failed returns after which the hold is forgotten (live traffic grew for good)."""
START_SHARE: Final = 0.98
"""A pace allowed more than this share of the quota starts there and holds ``PROBE_WAIT_MIN``
s before it grows ..."""
START_QUICK: Final = 0.15
"""... and its probe, refused before it sent this many seconds of that pace in excess of it, met
the quota itself: the start's pace holds (fixed windows refused the probe after 0.8-5.5 calls in
excess, 40 seeds; a bucket that live traffic at 5/s drained, after 6-24)."""
QUICK_LOOKBACK: Final = 2.0
"""A probe refused at once raises the hold to ``QUICK_MARGIN`` of its pace this many seconds
before the refusal at most (1 s let the hold creep over fixed windows' limit: 0.945 -> 0.965
of the quota, 40 seeds)."""
RETURN_PROBE_WAIT: Final = 20.0
"""Seconds of hold after a run's return before the next probe: spikes come back, and a probe
that finds no room leaves the bucket dry for the next one."""


class Pace:
    """Internal: the rate the quota leaves this process, learnt from the throttles reported.

    ``AdaptiveRateLimiter`` turns it into slots; the module docstring explains the rules.

    Attributes:
        waited: When a call last waited for its slot (the pace, not the calls asked for, set
            the rate let through since).
    """

    def __init__(self, rate: float | None, now: float, quota: float = DEFAULT_QUOTA) -> None:
        self._ceiling = rate if rate is not None else math.inf
        self._start_holds = self._ceiling > START_SHARE * quota
        self._settle = min(self._ceiling, START_SHARE * quota)
        self._started = now
        self._starting = True  # no refusal has cut the pace yet
        self.waited = -math.inf
        self._admitted = 0
        self._probe_wait = PROBE_WAIT_MIN
        self._draining = False
        # As if a hold had just ended: the first throttle shows where the quota really is.
        self._cut_at = now - self._probe_wait
        # When the current hold began: a cut, a return's end, or a start that holds.
        self._phase_at = now if self._start_holds else self._cut_at
        # A run of refusals (see the module docstring): its cuts (0: none), the hold it comes
        # back to, and how long it waits without a cut before it does.
        self._chain = 0
        self._restore = 0.0
        self._quiet = QUIET
        self._failed_returns = 0
        self._returned = False  # the current hold is a return's, not yet SAFE seconds old
        self._answers: deque[float] = deque()
        self._throttled_at: deque[float] = deque()
        # A probe's growth a second and the start's burst: shares of the processes counted.
        self._growth, self._burst = GROWTH, ASSUMED_BURST

    def rate_at(self, now: float) -> float:
        """The pace at ``now``, as the last cut and the time since decide it."""
        since = now - self._phase_at
        if self._returning(since) and self._restore > self._settle:
            climbed = min(1.0, (since - self._wait()) / RETURN_TIME)
            rate = self._settle + (self._restore - self._settle) * climbed
        elif since < DRAIN_TIME and self._draining:
            rate = DRAIN * self._settle
        elif since < self._probe_wait:
            rate = self._settle
        else:
            rate = self._settle * math.exp(self._growth * (since - self._probe_wait))
        return max(MIN_RATE, min(rate, self._ceiling))

    def _wait(self) -> float:
        """Seconds without a cut before a run returns."""
        return self._quiet if self._chain >= 2 else LONE_QUIET

    def _returning(self, since: float) -> bool:
        """Whether, ``since`` seconds after the last cut, a run climbs back to its hold."""
        return self._chain > 0 and since >= self._wait()

    def finish_return(self, now: float) -> None:
        """Settle what the time since the last cut decided: whether a return is over."""
        since = now - self._phase_at
        if self._returned and since >= SAFE:
            # The hold returned to held again: the next run of refusals starts afresh.
            self._returned = False
            self._failed_returns = 0
            self._quiet = QUIET
        if not self._returning(since) or since < self._wait() + RETURN_TIME:
            return
        if self._restore > self._settle:
            # Back at the safe hold, which starts its own phase (as after a cut, but no drain).
            self._phase_at += self._wait() + RETURN_TIME
            self._settle = self._restore
            self._draining = False
        if self._chain >= 2:
            self._returned = True
            # Live traffic spikes: more room between spikes is unlikely, and a probe that
            # finds none leaves the bucket dry for the next spike.
            self._probe_wait = max(self._probe_wait, RETURN_PROBE_WAIT)
        self._chain = 0

    def _dip(self, restore: float) -> None:
        """A new run of refusals: remember the hold to come back to once they stop."""
        self._chain = 1
        self._restore = restore
        self._returned = False
        self._failed_returns = 0
        self._quiet = QUIET

    def exploring(self, now: float) -> bool:
        """Whether the pace explores at ``now`` (the start, a probe, a run) rather than holds."""
        return self._starting or self._chain > 0 or now - self._phase_at >= self._probe_wait

    def stand_still(self, seconds: float) -> None:
        """Nobody used the pace for ``seconds``: what it remembers moves on by as much."""
        self._cut_at += seconds
        self._phase_at += seconds
        self._started += seconds

    def peers_changed(self, before: int, after: int, now: float) -> None:
        """The bulk runs pacing this quota on this host went from ``before`` to ``after``: the
        pace, the hold a run returns to, a probe's growth and the start's share of the burst
        become this process's new share."""
        self.finish_return(now)
        share = before / after
        self._settle = max(MIN_RATE, min(self._settle * share, self._ceiling))
        self._restore *= share
        self._growth, self._burst = GROWTH / after, ASSUMED_BURST / after

    def answered(self, now: float) -> None:
        """Learn from a call Cognito answered at ``now`` without throttling it."""
        self._answers.append(now)
        self._admitted += 1
        _trim(self._answers, now - WINDOW)

    def throttled(
        self, sent_at: float, now: float, *, heard: bool = False
    ) -> tuple[float, float] | None:
        """Learn from a call sent at ``sent_at`` that Cognito throttled (reported at ``now``;
        ``heard``: a peer's, cut for by that peer, not one of this process's calls).

        Returns the refused call's rate and the pace after the cut, or None when the refusal
        cut nothing (its episode was cut for already).
        """
        if not heard:
            self._throttled_at.append(now)
        _trim(self._throttled_at, now - WINDOW)
        _trim(self._answers, now - WINDOW)
        self.finish_return(sent_at)
        if sent_at < self._cut_at + (RECUT if self._chain else COOLDOWN):
            return None
        rate = self.rate_at(sent_at)
        measured = MARGIN * self._capacity(rate, now)
        self._draining = True
        since = sent_at - self._phase_at
        if self._returning(since) or (self._returned and since < SAFE):
            settle = self._return_refused(rate)
        elif self._chain:
            # Refusals go on after the first (a spike): cut again, deep.
            self._chain += 1
            self._draining = False
            settle = CHAIN_CUT * rate
        elif self._starting and (shared := self._shared_capacity(sent_at, now)) is not None:
            # Refused before this start alone could empty the bucket: others emptied it too.
            settle = SHARED * MARGIN * shared
            self._dip(settle)
        elif self._starting and sent_at - self._started < QUICK_START:
            # Refused at once: no burst hid how far the start overshot.
            settle = max(QUICK_MARGIN * measured / MARGIN, HALVING * rate)
        else:
            hold, settle = self._first_cut(sent_at, since, rate, measured, now)
            self._dip(hold)
        self._settle = max(MIN_RATE, min(settle, self._ceiling))
        self._cut_at = self._phase_at = now
        self._starting = False
        return rate, self._settle

    def _first_cut(
        self, sent_at: float, since: float, rate: float, measured: float, now: float
    ) -> tuple[float, float]:
        """The hold to come back to after a new run of refusals, and the pace until then."""
        if not self._starting and since >= self._probe_wait:
            # No dip: a probe is refused for going too far more often than for a spike, and
            # if a spike refused it, more refusals follow and cut deep.
            settle, proven = self._after_probe(sent_at, measured)
            return proven, max(settle, HALVING * rate)
        if self._starting and self._start_holds and since >= self._probe_wait:
            start = self._phase_at + self._probe_wait
            if excess(self.rate_at, self._settle, start, sent_at) < START_QUICK * self._settle:
                # The start's pace held, and its probe was refused as it crossed the quota:
                # fixed windows, or a bucket that live traffic drained meanwhile (then the
                # next refusal returns to what got through, less the first episode's margin).
                self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
                self._draining = False
                return min(self._settle, FIRST * measured), self._settle
        if self._starting:
            settle = MARGIN * self._drained_capacity(sent_at, measured / MARGIN)
            settle = max(settle, HALVING * rate)
            return settle, settle
        # A refusal in a hold: the bucket is dry, and live traffic takes most of the refusals
        # (it comes in clumps, the pace evenly), so the pace dips at once (no drain: the dip
        # lets the bucket refill). Only a pace that its calls wait for (a bulk run) dips: a
        # web service's few calls set their own rate, and one refusal of theirs costs at most
        # a halving.
        self._draining = False
        dip = DIP if now - self.waited < WINDOW else HALVING
        if since >= SAFE:
            return self._settle, dip * rate
        # The hold was not safe after all.
        return max(FIRST * measured, HALVING * rate), dip * rate

    def _return_refused(self, rate: float) -> float:
        """The pace after a refusal while a run returned, or soon after it did."""
        self._draining = False
        if self._chain == 1:
            # A lone refusal's return met another: refusals go on, so the dip waits longer.
            self._chain = 2
            return CHAIN_CUT * rate
        if self._returned:
            self._restore = self._settle
        self._returned = False
        self._failed_returns += 1
        if self._failed_returns >= RETURN_TRIES:
            # Live traffic grew for good: the hold it left was not safe after all.
            self._chain = 0
            self._failed_returns = 0
            self._quiet = QUIET
            self._draining = True
            return HALVING * rate
        # The spike outlasted the wait: dip again, and wait longer.
        self._chain = 2
        self._quiet *= 2
        return CHAIN_CUT * rate

    def _shared_capacity(self, sent_at: float, now: float) -> float | None:
        """The capacity of a busy start refused before it had ``ASSUMED_BURST`` calls let through,
        or None: the calls it had let through, as its share of all the bucket gave (a full
        bucket and the default quota since the start), times that quota."""
        elapsed = sent_at - self._started
        busy = now - self.waited < WINDOW and self._admitted >= BUSY * self._settle * elapsed
        if not busy or self._admitted >= self._burst:
            return None
        return self._admitted * DEFAULT_QUOTA / (ASSUMED_BURST + DEFAULT_QUOTA * elapsed)

    def _drained_capacity(self, sent_at: float, measured: float) -> float:
        """The capacity that let this start empty a bucket of ``ASSUMED_BURST`` calls.

        Live traffic takes the first refusals, so the rate let through is no evidence of the
        room left; how long the burst lasted is. Used only when the start kept the pace busy.
        """
        elapsed = sent_at - self._started
        busy = self._admitted >= BUSY * self._settle * elapsed  # the whole start, not a window
        drained = (self._admitted - self._burst) / elapsed
        if busy and drained >= FIRST * measured / 2:
            return min(measured, drained)
        return FIRST * measured

    def _capacity(self, rate: float, now: float) -> float:
        """What the quota leaves this process, judged from the last ``WINDOW`` seconds.

        The calls let through, when calls had to wait for the pace; the pace itself when none
        did (a web service's few calls say how much it asked for, not how much there was).
        Either way scaled down by the share refused.
        """
        answered, refused = len(self._answers), len(self._throttled_at)
        calls = answered + refused
        if not calls:
            return rate * DRAIN
        busy = now - self.waited < WINDOW
        let_through = answered / WINDOW if busy else rate
        return min(rate, let_through) * (1 - refused / calls)

    def _after_probe(self, sent_at: float, measured: float) -> tuple[float, float]:
        """The hold rate after a probe from a hold that proved safe was throttled, and the
        hold the probe proved safe (where to return if more refusals follow: a spike)."""
        hold = self._settle
        start = self._phase_at + self._probe_wait
        if excess(self.rate_at, hold / MARGIN, start, sent_at) < QUICK_SECONDS * hold:
            # Refused almost at once (fixed windows do that): the probe met the ceiling itself.
            before = self.rate_at(sent_at - QUICK_LOOKBACK)  # before the probe wait doubles
            ceiling = QUICK_MARGIN * min(measured / MARGIN, before)
            self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
            self._draining = False  # nothing hid a burst, so there is no bucket to refill
            return max(hold, min(ceiling, QUICK_STEP * hold)), hold
        burst = max(ASSUMED_BURST, BURST_SECONDS * hold / MARGIN)
        found = least_capacity(self.rate_at, start, sent_at, burst)
        if MARGIN * found <= hold:
            # A burst could hide all the probe sent: no evidence of more room.
            self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
            return hold, hold
        self._probe_wait = PROBE_WAIT_MIN
        return min(MARGIN * found, measured), MARGIN * found


def _trim(times: deque[float], oldest: float) -> None:
    while times and times[0] < oldest:
        times.popleft()
