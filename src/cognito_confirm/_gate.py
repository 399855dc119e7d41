"""The gate every call of a bulk run passes: shut by ``stop()``, one probe at a time in an outage.

Why a gate in the one retry loop rather than in the engine's workers: the waits that matter are
inside a user's retries. After ``ResultStream.stop()`` a call waiting for its slot in the pace
or sleeping in backoff must not be sent (at ``rate=0.5`` those were 16 more confirmations and
32 s), so those waits are interruptible (``interruptible()``). And in an outage the users in
flight are the ones retrying: each would burn its budget and end ``failed`` (a 60 s outage cost
78 users), although nothing was wrong with them.

So the gate watches every call. Calls of ``DOWN_USERS`` different users in a row that got no
answer (a transport error, or HTTP 5xx), with no answer in between, mean the endpoint is down.
Then no call goes except one probe at a time, taken in turn by the waiting calls (the users in
flight and new users alike, so one user that always gets HTTP 500 cannot keep the run down),
spaced ``PROBE_WAIT_MIN`` s doubling to ``PROBE_WAIT_MAX`` s. The first answer opens the gate
for all. A user caught by an outage starts its retry budget afresh after it, and time spent
held does not count against ``RetryPolicy.timeout``. A user out of retries on unanswered calls
first waits for the next report of another call in flight (``others_reported``): with fast
retries it can run out before a second user's call has failed. Past ``outage_budget`` seconds
without an answer the held calls end with ``EndpointUnreachableError``, which stops the run.

The budget bounds a run from its first call too, before any outage is declared: an endpoint
that swallows requests from the start (a black hole) kept the first user alone, retrying 8
times through a 30 s read timeout: 252 s with a 20 s budget. So the budget is counted from the
last answer or, when nothing was in flight, from the call sent then (an idle run is not an
outage); the calls still unanswered when it is spent are cut short (``watch()``: their users
get no result and the run stops with ``EndpointUnreachableError``), and a user whose call went
unanswered after it (``overdue()``) ends with that error too, never as a ``failed`` user.
One watcher per run rather than a deadline per call: a cancel scope with a deadline cost 12 us
a call (a timer pushed onto the loop's heap and cancelled), a fifth of the engine's CPU per user
on an instant client.

Why two users, not one: one user's calls failing says nothing about the others (with
concurrency 1, the user caught by an outage's start fails and the next one waits; with more,
nobody fails). A false alarm costs one probe: the next call is the probe, and it is answered.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Final

import anyio

from ._clock import now as loop_time
from ._errors import EndpointUnreachableError

__all__ = ["DEFAULT_OUTAGE_BUDGET", "DOWN_USERS", "Admission", "CallGate"]

logger = logging.getLogger("cognito_confirm")

DEFAULT_OUTAGE_BUDGET: Final = 300.0
"""Seconds a bulk run waits for an endpoint that stopped answering before it stops."""
DOWN_USERS: Final = 2
"""Users whose calls got no answer, in a row, that make the endpoint count as down."""
PROBE_WAIT_MIN: Final = 0.5
"""Seconds between the probes of an outage, at first ..."""
PROBE_WAIT_MAX: Final = 5.0
"""... doubling after each unanswered probe up to this: an endpoint back is seen within 5 s."""


class Admission(enum.Enum):
    """What the gate says to a call that wants to go."""

    GO = "go"
    """Send it."""
    PROBE = "probe"
    """Send it as the outage's probe; report how it went with ``probe=True``."""
    STOPPED = "stopped"
    """The run was stopped: send nothing more."""
    GAVE_UP = "gave up"
    """The outage outlasted the budget: the run stops with ``CallGate.unreachable``."""


class CallGate:
    """Lets a bulk run's calls go, or holds them; see the module docstring.

    Args:
        outage_budget: Seconds without an answer after which an outage stops the run.
        clock: Seconds, monotonic (default: the running loop's); injectable for tests.

    Attributes:
        unreachable: The error the outage ended with, once one outlasted the budget.
    """

    def __init__(
        self,
        *,
        outage_budget: float = DEFAULT_OUTAGE_BUDGET,
        clock: Callable[[], float] = loop_time,
    ) -> None:
        if not (outage_budget >= 0 and not math.isnan(outage_budget)):
            msg = f"outage_budget must be a number of seconds >= 0, got {outage_budget}"
            raise ValueError(msg)
        self._budget = outage_budget
        self._clock = clock
        self._stopped = False
        self._scopes: set[anyio.CancelScope] = set()
        self._unanswered: set[object] = set()
        self._last_answer = clock()
        self._down_since: float | None = None
        self._queue: deque[object] = deque()
        self._probing = False
        self._next_probe = 0.0
        self._probe_wait = PROBE_WAIT_MIN
        self._in_flight = 0
        self._calling: set[object] = set()
        self._reports = 0
        self._changed: anyio.Event | None = None  # made when first awaited: inside the loop
        self._busy: anyio.Event | None = None  # set when a call goes while nothing was in flight
        self.unreachable: EndpointUnreachableError | None = None

    @property
    def open(self) -> bool:
        """True when a call may go at once (``admit()`` would say GO without waiting)."""
        return (
            self._down_since is None
            and not self._stopped
            and self.unreachable is None
            and not (self._unanswered and self.overdue())  # the clock only when it matters
        )

    def overdue(self) -> bool:
        """True when a call went unanswered and the budget since the last answer is spent."""
        return bool(self._unanswered) and self._clock() - self._last_answer >= self._budget

    def time_left(self) -> float:
        """Seconds until the outage budget is spent if no answer comes: the calls in flight
        then are cut short (``watch()``)."""
        return self._last_answer + self._budget - self._clock()

    async def watch(self, cut: Callable[[Collection[object]], None]) -> None:
        """Run beside a bulk run's calls: once the budget is spent with calls in flight, give up
        and ``cut`` them (given the keys their users were sent with); return then.

        Sleeps until the budget would be spent, so a run whose calls are answered wakes it once
        per budget; with nothing in flight it waits for the next call.
        """
        while True:
            if self._in_flight == 0:
                self._busy = busy = anyio.Event()
                await busy.wait()
                continue
            left = self.time_left()
            if left > 0:
                await anyio.sleep(left)
                continue
            self.give_up()
            cut(tuple(self._calling))
            return

    def give_up(self) -> EndpointUnreachableError:
        """End the run's wait for an answer: the error every held or overdue call ends with."""
        self._give_up(self._clock())
        assert self.unreachable is not None  # noqa: S101 - _give_up set it
        return self.unreachable

    @property
    def down(self) -> bool:
        """True while the endpoint counts as down (an outage)."""
        return self._down_since is not None

    @property
    def outage(self) -> float | None:
        """Seconds since the last answer while the endpoint is down; None while it is up."""
        return None if self._down_since is None else self._clock() - self._last_answer

    @property
    def stopped(self) -> bool:
        """True once ``stop()`` was called."""
        return self._stopped

    def stop(self) -> None:
        """Send nothing more: interrupt every wait for the pace or a backoff, and every hold."""
        self._stopped = True
        for scope in self._scopes:
            scope.cancel()
        self._notify()

    @contextmanager
    def interruptible(self) -> Iterator[anyio.CancelScope]:
        """A wait (for the pace, a backoff) that ``stop()`` cuts short: see ``cancel_called``."""
        scope = anyio.CancelScope()
        if self._stopped:
            scope.cancel()
        self._scopes.add(scope)
        try:
            with scope:
                yield scope
        finally:
            self._scopes.discard(scope)

    async def admit(self) -> tuple[Admission, float]:
        """Wait until a call may go; what the gate says, and the seconds it held the call."""
        if self.unreachable is not None:
            return Admission.GAVE_UP, 0.0
        if self._stopped:
            return Admission.STOPPED, 0.0
        if self.overdue():
            self.give_up()
            return Admission.GAVE_UP, 0.0
        if self._down_since is None:
            return Admission.GO, 0.0
        started = self._clock()
        ticket = object()
        self._queue.append(ticket)
        try:
            admission = await self._hold(ticket)
        finally:
            self._queue.remove(ticket)
        return admission, self._clock() - started

    async def _hold(self, ticket: object) -> Admission:
        while True:
            now = self._clock()
            # Checked first: the run stops when the first held call gives up, and the others
            # held with it end the same way (no result), not as stopped after a failed call.
            if self.unreachable is not None:
                return Admission.GAVE_UP
            if self._stopped:
                return Admission.STOPPED
            if self._down_since is None:
                return Admission.GO
            if now - self._last_answer >= self._budget:
                self._give_up(now)
                return Admission.GAVE_UP
            if self._queue[0] is ticket and not self._probing and now >= self._next_probe:
                self._probing = True
                return Admission.PROBE
            wake = self._last_answer + self._budget
            if not self._probing:
                wake = min(wake, self._next_probe)
            if self._changed is None:
                self._changed = anyio.Event()
            changed = self._changed
            with anyio.move_on_after(max(0.0, wake - now)):
                await changed.wait()

    async def others_reported(self) -> None:
        """Wait until another call in flight reports (at once if none is in flight).

        A user out of retries on unanswered calls asks this first: an outage may have begun
        with its calls, and the next report shows whether the endpoint still answers others.
        """
        reports = self._reports
        while self._reports == reports and self._in_flight > 0 and not self._stopped:
            if self._changed is None:
                self._changed = anyio.Event()
            await self._changed.wait()

    def sending(self, key: object = None) -> None:
        """A call for ``key`` (its user) admitted by ``admit()`` is about to go (it reports back
        when done, with the same key)."""
        if self._in_flight == 0:
            if not self._unanswered:
                self._last_answer = self._clock()  # after a quiet spell the budget starts now
            busy, self._busy = self._busy, None
            if busy is not None:
                busy.set()
        self._in_flight += 1
        self._calling.add(key)

    def answered(self, key: object = None) -> None:
        """A call for ``key`` got an answer from Cognito (anything but a transport error or
        HTTP 5xx)."""
        self._reported(key)
        self._last_answer = self._clock()
        self._unanswered.clear()
        self._probing = False
        if self._down_since is not None:
            logger.info(
                "Cognito answers again after %.0f s of outage: carrying on",
                self._last_answer - self._down_since,
            )
            self._down_since = None
            self._probe_wait = PROBE_WAIT_MIN

    def unanswered(self, key: object, *, probe: bool = False) -> None:
        """A call for ``key`` (its user) got no answer: a transport error or HTTP 5xx."""
        self._reported(key)
        now = self._clock()
        if probe:
            self._probing = False
            self._next_probe = now + self._probe_wait
            self._probe_wait = min(2 * self._probe_wait, PROBE_WAIT_MAX)
        self._unanswered.add(key)
        if self._down_since is None and len(self._unanswered) >= DOWN_USERS:
            self._down_since = now
            self._next_probe = now
            logger.info(
                "no answer from Cognito for %d users in a row: holding the run, one probe "
                "at a time (outage budget %.0f s)",
                len(self._unanswered),
                self._budget,
            )

    def cut_short(self, *, probe: bool, sent: bool, key: object = None) -> None:
        """A call admitted ended without a report (not sent, or cancelled): free its turn."""
        if sent:
            self._reported(key)
        else:
            self._notify()
        if probe:
            self._probing = False

    def _reported(self, key: object) -> None:
        self._in_flight -= 1
        self._calling.discard(key)
        self._reports += 1
        if self._changed is not None:
            self._notify()

    def _give_up(self, now: float) -> None:
        if self.unreachable is None:
            msg = (
                f"no answer from Cognito for {now - self._last_answer:.0f} s (outage budget "
                f"{self._budget:.0f} s): the endpoint or the network is down; "
                "every result so far was delivered"
            )
            self.unreachable = EndpointUnreachableError(msg)
            logger.info("outage budget spent: %s", msg)

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
