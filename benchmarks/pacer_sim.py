"""The pacer against a simulated Cognito quota shared with live sign-ups, on a virtual clock.

Why a simulation beside the real benchmark: the real one (scenario 5, against the fake in its own
process) takes minutes per run, so it can confirm the figures but not choose the constants. This
runs the library's own ``AdaptiveRateLimiter`` (its clock is the simulation's) against a model of
the quota, thousands of times faster, with the same shape as a bulk run: ``concurrency`` workers,
each pacing, calling (``latency`` seconds), and retrying throttled calls with the library's
``RetryPolicy``; live sign-ups arrive at random (Poisson) and are never retried, as a browser
would show the error.

    python3 -m benchmarks.pacer_sim            # the table of scenarios, 5 seeds each
    python3 -m benchmarks.pacer_sim 10         # 10 seeds: the figures in _ratelimit's docstring
    python3 -m benchmarks.pacer_sim floor 10   # the spikes' reactive floor at FLOOR_SHARES of
                                               # the room (see _ReactiveFloor, floor_table)
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cognito_confirm import AdaptiveRateLimiter, RetryPolicy
from cognito_confirm.testing._model import quota_gate


@dataclass(frozen=True, slots=True)
class Quota:
    """How the simulated Cognito enforces the UserCreation quota.

    Attributes:
        rate: Requests per second.
        burst: The token bucket's capacity (ignored for fixed windows).
        windows: Fixed one-second windows of ``rate`` requests instead of a token bucket.
    """

    rate: float = 50.0
    burst: float = 50.0
    windows: bool = False


@dataclass(frozen=True, slots=True)
class Spikes:
    """Live traffic that jumps to ``peak`` for ``length`` seconds every ``period`` seconds.

    Attributes:
        peak: Live sign-ups per second inside a spike.
        length: Seconds a spike lasts.
        period: Seconds from one spike's start to the next.
        first: When the first spike starts.
    """

    peak: float
    length: float
    period: float
    first: float = 8.0

    def inside(self, now: float) -> bool:
        """Whether ``now`` falls inside a spike."""
        return now >= self.first and (now - self.first) % self.period < self.length


@dataclass(frozen=True, slots=True)
class Setting:
    """One simulated run.

    Attributes:
        rate: The pacer's ceiling (None: none of the user's).
        live: Live sign-ups per second (Poisson).
        live_until: Seconds after which live traffic stops.
        users: Users the migration confirms.
        concurrency: Workers.
        latency: Seconds per call (half of them before the quota takes or refuses it).
        trigger: Seconds a post-confirmation trigger adds to an admitted call, after the quota
            took it (Cognito confirms the user, then runs the trigger): a refused call does not
            wait for it.
        quota: The quota model.
        spikes: Live traffic's spikes, if any (``live`` is the rate between them).
        grow_at: When live traffic grows to ``grow_to`` per second, if it does.
        grow_to: The live rate after the growth.
        processes: Migration processes at once, each its own pacer, ``concurrency`` workers
            and ``users / processes`` users (the same quota and live traffic).
        stagger: Seconds from one process's start to the next's.
    """

    rate: float | None = 40.0
    live: float = 20.0
    live_until: float = math.inf
    users: int = 2000
    concurrency: int = 16
    latency: float = 0.03
    trigger: float = 0.0
    quota: Quota = Quota()
    spikes: Spikes | None = None
    grow_at: float = math.inf
    grow_to: float = 0.0
    processes: int = 1
    stagger: float = 0.0

    def live_rate(self, now: float) -> float:
        """Live sign-ups per second at ``now``."""
        if now >= self.live_until:
            return 0.0
        if self.spikes is not None and self.spikes.inside(now):
            return self.spikes.peak
        return self.grow_to if now >= self.grow_at else self.live

    @property
    def live_peak(self) -> float:
        """The most live sign-ups per second at any time."""
        peak = self.spikes.peak if self.spikes is not None else 0.0
        grown = self.grow_to if self.grow_at < math.inf else 0.0
        return max(self.live, peak, grown)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one simulated run measured.

    Attributes:
        confirmed: Users confirmed.
        failed: Users whose retries ran out.
        duration: Seconds until the last user's answer.
        calls: Migration calls sent.
        throttled: Migration calls throttled.
        live_calls: Live sign-ups sent while the migration ran.
        live_throttled: Live sign-ups throttled.
        last_quarter_rate: Confirmations per second over the last quarter of the users.
        free: What the quota left the migration on average (quota minus live traffic).
        spike_calls: Live sign-ups sent inside spikes.
        spike_throttled: Of those, throttled.
        late_calls: Live sign-ups sent after the growth (from 5 s after it).
        late_throttled: Of those, throttled.
    """

    confirmed: int
    failed: int
    duration: float
    calls: int
    throttled: int
    live_calls: int
    live_throttled: int
    last_quarter_rate: float
    free: float
    spike_calls: int = 0
    spike_throttled: int = 0
    late_calls: int = 0
    late_throttled: int = 0

    @property
    def rate(self) -> float:
        """Confirmations per second."""
        return self.confirmed / self.duration

    @property
    def share_of_free(self) -> float:
        """The migration's rate as a share of what live traffic left it."""
        return self.rate / self.free

    @property
    def throttled_share(self) -> float:
        """Share of the migration's calls that were throttled."""
        return self.throttled / self.calls if self.calls else 0.0

    @property
    def live_harm(self) -> float:
        """Share of live sign-ups throttled."""
        return self.live_throttled / self.live_calls if self.live_calls else 0.0

    @property
    def spike_harm(self) -> float:
        """Share of the live sign-ups inside spikes throttled."""
        return self.spike_throttled / self.spike_calls if self.spike_calls else 0.0

    @property
    def late_harm(self) -> float:
        """Share of the live sign-ups after the growth throttled."""
        return self.late_throttled / self.late_calls if self.late_calls else 0.0


MakePacer = Callable[[float | None, Callable[[], float], int], AdaptiveRateLimiter]
"""Makes process ``index``'s pacer from the user's rate and the simulation's clock."""


class _Census:
    """The processes on this host pacing the quota, as ``_peers.Census`` counts them: each
    member's published cuts, by member."""

    def __init__(self) -> None:
        self.cuts: dict[int, int] = {}
        self.keys = itertools.count()

    def join(self) -> _Member:
        member = _Member(self, next(self.keys))
        self.cuts[member.key] = 0
        return member


class _Member:
    def __init__(self, census: _Census, key: int) -> None:
        self.census = census
        self.key = key

    def count(self) -> tuple[int, int]:
        cuts = self.census.cuts
        return len(cuts), sum(n for key, n in cuts.items() if key != self.key)

    def publish(self, cuts: int) -> None:
        self.census.cuts[self.key] = cuts

    def leave(self) -> None:
        del self.census.cuts[self.key]


class _Process:
    """One migration process: its pacer, its share of the users, and its own counts; a
    member of the census while its run lasts (as ``ResultStream`` makes it)."""

    def __init__(self, pacer: AdaptiveRateLimiter, users: int, census: _Census) -> None:
        self.pacer = pacer
        self.users = users
        self.next_user = 0
        self.finished = 0
        self.calls = 0
        self.throttled = 0
        self.run = pacer.among_peers(census.join)


class _Simulation:
    def __init__(self, setting: Setting, seed: int, make_pacer: MakePacer) -> None:
        self.setting = setting
        self.now = 0.0
        self.rng = random.Random(seed)
        self.events: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = itertools.count()
        # The fake Cognito's own quota model, on this simulation's clock. A run rarely starts
        # on a window's edge: the windows are shifted by a random phase.
        phase = self.rng.random()
        gate = quota_gate(
            setting.quota.rate,
            setting.quota.burst,
            None,
            windows=setting.quota.windows,
            clock=lambda: self.now + phase,
        )
        assert gate is not None
        self.server = gate
        count = setting.processes
        census = _Census()
        self.processes = [
            _Process(make_pacer(setting.rate, self.clock, index), setting.users // count, census)
            for index in range(count)
        ]
        self.processes[0].users += setting.users - sum(p.users for p in self.processes)
        self.policy = RetryPolicy()
        self.confirmed_at: list[float] = []
        self.failed = 0
        self.calls = 0
        self.throttled = 0
        self.live_calls = 0
        self.live_throttled = 0
        self.spike_calls = 0
        self.spike_throttled = 0
        self.late_calls = 0
        self.late_throttled = 0
        self.live_seconds = 0.0
        self.done = 0

    def clock(self) -> float:
        return self.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.events, (when, next(self.seq), action))

    def run(self) -> Outcome:
        for index, process in enumerate(self.processes):
            self.at(index * self.setting.stagger, functools.partial(self.start, process))
        if self.setting.live_peak > 0:
            self.at(self.rng.expovariate(self.setting.live_peak), self.live_arrival)
        while self.events and self.done < self.setting.users:
            self.now, _, action = heapq.heappop(self.events)
            action()
        duration = self.now
        quarter = self.setting.users // 4
        times = sorted(self.confirmed_at)
        last = times[-quarter:] if quarter and len(times) > quarter else times
        last_rate = (len(last) - 1) / (last[-1] - last[0]) if len(last) > 1 else 0.0
        free = self.setting.quota.rate - self.live_sent(duration) / duration
        return Outcome(
            confirmed=len(self.confirmed_at),
            failed=self.failed,
            duration=duration,
            calls=self.calls,
            throttled=self.throttled,
            live_calls=self.live_calls,
            live_throttled=self.live_throttled,
            last_quarter_rate=last_rate,
            free=free,
            spike_calls=self.spike_calls,
            spike_throttled=self.spike_throttled,
            late_calls=self.late_calls,
            late_throttled=self.late_throttled,
        )

    def live_sent(self, duration: float) -> float:
        """Live sign-ups expected over ``duration`` (the rate's integral, 10 ms steps)."""
        steps = max(1, round(duration * 100))
        step = duration / steps
        return step * sum(self.setting.live_rate((i + 0.5) * step) for i in range(steps))

    def live_arrival(self) -> None:
        setting = self.setting
        if self.now >= setting.live_until and setting.grow_at == math.inf:
            return
        peak = setting.live_peak
        self.at(self.now + self.rng.expovariate(peak), self.live_arrival)
        # Poisson at a rate that changes: arrivals at the peak rate, each kept at rate / peak.
        if self.rng.random() * peak >= setting.live_rate(self.now):
            return
        admitted = self.server.take()
        self.live_calls += 1
        self.live_throttled += not admitted
        if setting.spikes is not None and setting.spikes.inside(self.now):
            self.spike_calls += 1
            self.spike_throttled += not admitted
        if self.now >= setting.grow_at + 5.0:
            self.late_calls += 1
            self.late_throttled += not admitted

    def start(self, process: _Process) -> None:
        process.run.__enter__()
        for _ in range(self.setting.concurrency):
            self.start_user(process)

    def start_user(self, process: _Process) -> None:
        if process.next_user >= process.users:
            return
        process.next_user += 1
        self.attempt(process, 0)

    def attempt(self, process: _Process, attempts: int) -> None:
        pacer = process.pacer
        slot = pacer.reserve()
        assert slot is not None
        if slot <= self.now:
            self.send(process, attempts + 1)
            return
        epoch = pacer.epoch

        def wake() -> None:
            if pacer.epoch == epoch:
                self.send(process, attempts + 1)
            else:
                self.attempt(process, attempts)

        self.at(slot, wake)

    def send(self, process: _Process, attempts: int) -> None:
        sent_at = self.now
        self.calls += 1
        process.calls += 1
        half = self.setting.latency / 2

        def arrive() -> None:
            admitted = self.server.take()
            back = self.now + half + (self.setting.trigger if admitted else 0.0)
            self.at(back, lambda: self.answer(process, sent_at, attempts, admitted))

        self.at(self.now + half, arrive)

    def answer(self, process: _Process, sent_at: float, attempts: int, admitted: bool) -> None:
        if admitted:
            process.pacer.answered(sent_at)
            self.confirmed_at.append(self.now)
            self.finish(process)
            return
        self.throttled += 1
        process.throttled += 1
        process.pacer.throttled(sent_at)
        if attempts >= self.policy.max_attempts:
            self.failed += 1
            self.finish(process)
            return
        backoff = self.policy.backoff(attempts, self.rng)
        self.at(self.now + backoff, lambda: self.attempt(process, attempts))

    def finish(self, process: _Process) -> None:
        self.done += 1
        process.finished += 1
        if process.finished == process.users:
            process.run.__exit__(None, None, None)
        self.start_user(process)


def default_pacer(
    rate: float | None, clock: Callable[[], float], index: int = 0
) -> AdaptiveRateLimiter:
    """The library's pacer on the simulation's clock (its jitter seeded by the process's index:
    runs repeat, and processes do not space their calls alike)."""
    return AdaptiveRateLimiter(rate, clock=clock, rng=random.Random(index))


def simulate(setting: Setting, seed: int = 0, make_pacer: MakePacer = default_pacer) -> Outcome:
    """Run one simulated migration."""
    return _Simulation(setting, seed, make_pacer).run()


SCENARIOS: dict[str, Setting] = {
    "live 20/s, rate=40 (default)": Setting(rate=40.0),
    "live 20/s, rate=60": Setting(rate=60.0),
    "live 20/s, rate=None": Setting(rate=None),
    "no live, rate=60": Setting(rate=60.0, live=0),
    "no live, rate=200": Setting(rate=200.0, live=0),
    "no live, rate=None": Setting(rate=None, live=0),
    "windows, no live, rate=60": Setting(rate=60.0, live=0, quota=Quota(windows=True)),
    "live 20/s for 30 s, rate=60": Setting(rate=60.0, live_until=30.0),
    "live 20/s for 30 s, rate=None": Setting(rate=None, live_until=30.0),
    "spikes 15->45/s 5 s every 20 s": Setting(live=15.0, spikes=Spikes(45.0, 5.0, 20.0)),
    "spikes 10->48/s 3 s every 12 s": Setting(live=10.0, spikes=Spikes(48.0, 3.0, 12.0)),
    "spikes 20->40/s 10 s every 30 s": Setting(live=20.0, spikes=Spikes(40.0, 10.0, 30.0)),
    "spikes 15->48/s 3 s every 15 s": Setting(live=15.0, spikes=Spikes(48.0, 3.0, 15.0)),
    "spikes 20->45/s 8 s every 40 s": Setting(live=20.0, spikes=Spikes(45.0, 8.0, 40.0)),
    "spikes 15->45/s, rate=60": Setting(rate=60.0, live=15.0, spikes=Spikes(45.0, 5.0, 20.0)),
    "spikes 15->45/s, rate=None": Setting(rate=None, live=15.0, spikes=Spikes(45.0, 5.0, 20.0)),
    "growth 10->30/s at 20 s": Setting(live=10.0, grow_at=20.0, grow_to=30.0),
    "2 processes, live 20/s": Setting(processes=2),
    "4 processes, live 20/s": Setting(processes=4),
    "4 processes 15 s apart, live 20/s": Setting(processes=4, stagger=15.0),
}


def table(seeds: Sequence[int] = range(5)) -> list[str]:
    """Each scenario's medians over ``seeds``, one line each."""
    lines = [
        f"{'scenario':34} {'conf/s':>7} {'of free':>8} {'thr%':>6} {'live thr% (worst)':>18} "
        f"{'failed':>6} {'last 1/4':>9} {'spike thr% (worst)':>18} {'after growth':>12}"
    ]
    for name, setting in SCENARIOS.items():
        runs = [simulate(setting, seed) for seed in seeds]
        lines.append(
            f"{name:34} {statistics.median(r.rate for r in runs):7.1f} "
            f"{statistics.median(r.share_of_free for r in runs):8.3f} "
            f"{100 * statistics.median(r.throttled_share for r in runs):6.2f} "
            f"{100 * statistics.median(r.live_harm for r in runs):10.2f} "
            f"({100 * max(r.live_harm for r in runs):5.2f}) "
            f"{max(r.failed for r in runs):6d} "
            f"{statistics.median(r.last_quarter_rate for r in runs):9.1f} "
            f"{100 * statistics.median(r.spike_harm for r in runs):10.2f} "
            f"({100 * max(r.spike_harm for r in runs):5.2f}) "
            f"{100 * max(r.late_harm for r in runs):12.2f}"
        )
    return lines


class _ReactiveFloor(AdaptiveRateLimiter):
    """What no pacer that learns from its throttles alone can beat, beside spiking live traffic.

    It holds at ``share`` of the room between spikes, knows when a spike ends (no real pacer
    does), and drops to the least pace at its first refusal inside a spike: the refusals it
    leaves are those the bucket's running dry causes before any signal, and those of live
    traffic's own clumps while the bucket refills.
    """

    def __init__(self, setting: Setting, clock: Callable[[], float], share: float) -> None:
        super().__init__(setting.rate, clock=clock, rng=random.Random(0))  # runs repeat
        self._setting = setting
        self._share = share
        self._refused_at = -math.inf

    def _rate_at(self, now: float) -> float:
        spikes = self._setting.spikes
        assert spikes is not None
        seen = self._refused_at
        if spikes.inside(now) and spikes.inside(seen) and now - seen < spikes.length:
            return 0.5
        return self._share * (self._setting.quota.rate - self._setting.live)

    def throttled(self, sent_at: float) -> None:
        self.throttles += 1
        self._refused_at = self._clock()
        self.epoch += 1


def _floor(
    setting: Setting, share: float, rate: float | None, clock: Callable[[], float], index: int
) -> AdaptiveRateLimiter:
    return _ReactiveFloor(setting, clock, share)


FLOOR_SHARES: tuple[float, ...] = (0.93, 0.75, 0.55, 0.45)
"""The shares of the room between spikes at which ``floor_table`` holds the reactive floor."""


def floor_table(
    seeds: Sequence[int] = range(5), shares: Sequence[float] = FLOOR_SHARES
) -> list[str]:
    """Each spike scenario under ``_ReactiveFloor`` at each of ``shares``: medians (worst seed).

    A pacer that learns from throttles alone cannot tell a spike from calm before its first
    refusal, which comes once the bucket is dry; from then on nothing does better than this
    floor's stop. So what the floor leaves at a share is what any such pacer holding that share
    between spikes leaves, and only a lower share (a reserve) lowers it.
    """
    lines = [
        f"{'scenario (reactive floor)':34} {'share':>5} {'of free':>8} {'live thr%':>14} "
        f"{'spike thr%':>14}"
    ]
    for name, setting in SCENARIOS.items():
        if setting.spikes is None:
            continue
        for share in shares:
            pacer = functools.partial(_floor, setting, share)
            runs = [simulate(setting, seed, pacer) for seed in seeds]
            live = [100 * r.live_harm for r in runs]
            spike = [100 * r.spike_harm for r in runs]
            lines.append(
                f"{name:34} {share:5.2f} {statistics.median(r.share_of_free for r in runs):8.3f} "
                f"{statistics.median(live):6.2f} ({max(live):5.2f}) "
                f"{statistics.median(spike):6.2f} ({max(spike):5.2f})"
            )
    return lines


def main(argv: Sequence[str]) -> int:
    floor = "floor" in argv
    numbers = [arg for arg in argv if arg != "floor"]
    seeds = range(int(numbers[0])) if numbers else range(5)
    print("\n".join(floor_table(seeds) if floor else table(seeds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
