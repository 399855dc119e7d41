"""Scenarios 1-3: every alternative against the same fake endpoint, alternated over rounds.

Each run starts from the same state (the users UNCONFIRMED, a full token bucket, zero counters)
and each round starts with a different alternative, so neither warm-up nor a slow spell on a
shared machine favours one of them.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import alternatives as alt
from .fakeproc import FakeProcess, FakeSettings

CONCURRENCY = 16
LATENCY_CONCURRENCY = 32
ABOVE_QUOTA = 1.2
"""The library's rate in the quota scenario, as a multiple of the quota (60 for 50)."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big each scenario is, and how many rounds it runs.

    Attributes:
        rounds: Rounds of every comparison.
        quota: The fake's AdminConfirmSignUp quota in scenario 1 (Cognito's default is 50).
        latency: The fake's latency in scenarios 1 and 3, in seconds.
        quota_users: Users per run in scenario 1.
        sequential_users: Users at most for the sequential boto3 loop (it is latency-bound).
        overhead_users: Users per run in scenario 2.
        latency_users: Users per run in scenario 3.
        memory_counts: The two input sizes of scenario 4.
        sharing_users: Users per migration run in scenario 5 (live sign-ups beside it).
        web_requests: Concurrent requests in scenario 6 (the FastAPI example).
        auto_users: Users per run in scenario 7 (--rate auto).
        production_users: Users per run in scenarios 8-11 (production's traffic), split
            between the processes in scenario 11.
        time_scale: Multiplies every time in scenarios 8-11 (spikes, growth, latency): below 1
            only in a smoke run, whose runs last a fraction of a second.
    """

    rounds: int
    quota: float
    latency: float
    quota_users: int
    sequential_users: int
    overhead_users: int
    latency_users: int
    memory_counts: tuple[int, int]
    sharing_users: int = 2000
    web_requests: int = 200
    auto_users: int = 800
    production_users: int = 2000
    time_scale: float = 1.0


FULL = Sizes(3, 50.0, 0.03, 1000, 500, 3000, 3000, (20_000, 1_000_000))
QUICK = Sizes(
    1, 50.0, 0.03, 600, 300, 1500, 1500, (20_000, 250_000), 1000, 200, 400, production_users=1000
)
SMOKE = Sizes(
    1,
    200.0,
    0.005,
    10,
    10,
    10,
    10,
    (100, 500),
    10,
    10,
    8,
    production_users=4,
    time_scale=0.05,
)
"""Proves every scenario runs, no more: a handful of users a run, the fewest the library's
default pace (40/s) takes a fraction of a second over."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One comparison: a fake configuration, the users, the alternatives.

    Attributes:
        key: Its name in the JSON results.
        title: Its heading in the printed table.
        settings: How the fake behaves.
        users: Users per run.
        concurrency: The calls in flight the alternatives are allowed.
        alternatives: What is compared, in table order.
    """

    key: str
    title: str
    settings: FakeSettings
    users: int
    concurrency: int
    alternatives: tuple[alt.Alternative, ...]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run of one alternative: what the client and the fake saw.

    Attributes:
        alternative: The alternative's key.
        round: Which round, from 0.
        users: Users it was given.
        confirmed: Users the fake moved to CONFIRMED.
        requests: AdminConfirmSignUp requests the fake received.
        throttled: Requests the fake throttled.
        failed: Users the alternative ended up failing.
        elapsed: Wall seconds, first call to last answer.
        cpu: Client process CPU seconds over the same span.
        extra: Alternative-specific figures.
    """

    alternative: str
    round: int
    users: int
    confirmed: int
    requests: int
    throttled: int
    failed: int
    elapsed: float
    cpu: float
    extra: Mapping[str, float]

    @property
    def per_second(self) -> float:
        """Confirmations per second of wall time."""
        return self.confirmed / self.elapsed

    @property
    def throttled_share(self) -> float:
        """Throttled requests as a share of all AdminConfirmSignUp requests."""
        return self.throttled / self.requests if self.requests else 0.0

    @property
    def cpu_ms_per_confirmation(self) -> float:
        """Client CPU milliseconds spent per confirmation."""
        return 1000 * self.cpu / self.confirmed if self.confirmed else float("nan")


@dataclass(frozen=True, slots=True)
class Summary:
    """An alternative's runs in one scenario: medians, and the worst failure count.

    Attributes:
        key: The alternative's key.
        name: The alternative's label.
        users: Users per run.
        runs: How many runs.
        per_second: Median confirmations per second.
        throttled_share: Median share of requests throttled.
        requests_per_user: Median AdminConfirmSignUp requests per user.
        cpu_ms: Median client CPU milliseconds per confirmation.
        elapsed: Median wall seconds per run.
        failed_max: The most users failed in any run.
    """

    key: str
    name: str
    users: int
    runs: int
    per_second: float
    throttled_share: float
    requests_per_user: float
    cpu_ms: float
    elapsed: float
    failed_max: int


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """A scenario and every run of it."""

    scenario: Scenario
    records: tuple[RunRecord, ...]

    def summaries(self) -> list[Summary]:
        """One summary per alternative, in table order."""
        return [self.summary(entry.key) for entry in self.scenario.alternatives]

    def summary(self, key: str) -> Summary:
        """The summary of the alternative with this key."""
        entry = next(entry for entry in self.scenario.alternatives if entry.key == key)
        runs = [record for record in self.records if record.alternative == key]
        return Summary(
            key=key,
            name=entry.name,
            users=runs[0].users,
            runs=len(runs),
            per_second=_median(runs, lambda run: run.per_second),
            throttled_share=_median(runs, lambda run: run.throttled_share),
            requests_per_user=_median(runs, lambda run: run.requests / run.users),
            cpu_ms=_median(runs, lambda run: run.cpu_ms_per_confirmation),
            elapsed=_median(runs, lambda run: run.elapsed),
            failed_max=max(run.failed for run in runs),
        )


def _median(runs: Sequence[RunRecord], figure: Callable[[RunRecord], float]) -> float:
    return statistics.median(figure(run) for run in runs)


def usernames(count: int) -> list[str]:
    """The benchmark's usernames: ``user-0000000``, ``user-0000001``, ..."""
    return [f"user-{n:07d}" for n in range(count)]


def quota_scenario(sizes: Sizes) -> Scenario:
    """1. Quota use: a quota, latency, the library above and at the quota and three baselines."""
    quota = sizes.quota
    above = quota * ABOVE_QUOTA
    return Scenario(
        key="quota",
        title=f"1. Quota use: quota {quota:g}/s, latency {sizes.latency * 1000:g} ms",
        settings=FakeSettings(quota=quota, latency=sizes.latency),
        users=sizes.quota_users,
        concurrency=CONCURRENCY,
        alternatives=(
            alt.Alternative(
                "library_above", f"cognito-confirm rate={above:g}", alt.library(CONCURRENCY, above)
            ),
            alt.Alternative(
                "library_at", f"cognito-confirm rate={quota:g}", alt.library(CONCURRENCY, quota)
            ),
            alt.Alternative(
                "boto3_loop",
                f"boto3 sequential loop ({alt.boto3_default_retry_mode()} retries)",
                alt.boto3_loop(),
                max_users=sizes.sequential_users,
            ),
            alt.Alternative(
                "gather_standard",
                "aiobotocore gather (standard retries)",
                alt.gather(CONCURRENCY, {"mode": "standard"}),
            ),
            alt.Alternative(
                "gather_adaptive",
                "aiobotocore gather (adaptive retries)",
                alt.gather(CONCURRENCY, {"mode": "adaptive"}),
            ),
        ),
    )


def overhead_scenario(sizes: Sizes) -> Scenario:
    """2. Overhead: no latency, no quota; the library against raw aiobotocore."""
    return Scenario(
        key="overhead",
        title="2. Overhead: no latency, no quota",
        settings=FakeSettings(quota=None, latency=0.0),
        users=sizes.overhead_users,
        concurrency=CONCURRENCY,
        alternatives=_library_and_raw(CONCURRENCY),
    )


def latency_scenario(sizes: Sizes) -> Scenario:
    """3. Latency-bound: latency, no quota, more concurrency."""
    return Scenario(
        key="latency",
        title=f"3. Latency-bound: latency {sizes.latency * 1000:g} ms, no quota",
        settings=FakeSettings(quota=None, latency=sizes.latency),
        users=sizes.latency_users,
        concurrency=LATENCY_CONCURRENCY,
        alternatives=_library_and_raw(LATENCY_CONCURRENCY),
    )


def _library_and_raw(concurrency: int) -> tuple[alt.Alternative, ...]:
    return (
        alt.Alternative(
            "library",
            f"cognito-confirm rate={alt.UNPACED:g}",
            alt.library(concurrency, rate=alt.UNPACED),
        ),
        alt.Alternative(
            "raw", "aiobotocore gather (no retries)", alt.gather(concurrency, alt.NO_RETRIES)
        ),
    )


def run_scenario(scenario: Scenario, rounds: int) -> ScenarioResult:
    """Every alternative ``rounds`` times, alternating, against one fake process."""
    names = usernames(scenario.users)
    records: list[RunRecord] = []
    with FakeProcess(scenario.settings) as fake:
        for round_ in range(rounds):
            for entry in _rotated(scenario.alternatives, round_):
                record = _measure(fake, entry, names, round_)
                _progress(scenario, record, rounds)
                records.append(record)
    return ScenarioResult(scenario, tuple(records))


def _rotated(entries: Sequence[alt.Alternative], shift: int) -> list[alt.Alternative]:
    shift %= len(entries)
    return [*entries[shift:], *entries[:shift]]


def _measure(
    fake: FakeProcess, entry: alt.Alternative, names: Sequence[str], round_: int
) -> RunRecord:
    fake.prepare(names)
    users = names[: entry.max_users]
    run = entry.run(fake.endpoint_url, users)
    counts = fake.counts()
    return RunRecord(
        alternative=entry.key,
        round=round_,
        users=len(users),
        confirmed=counts.confirmations,
        requests=counts.requests,
        throttled=counts.throttled,
        failed=run.failed,
        elapsed=run.elapsed,
        cpu=run.cpu,
        extra=run.extra,
    )


def _progress(scenario: Scenario, record: RunRecord, rounds: int) -> None:
    print(
        f"  [{scenario.key} {record.round + 1}/{rounds}] {record.alternative}: "
        f"{record.users} users, {record.per_second:.1f}/s, {record.throttled} throttled, "
        f"{record.failed} failed, {record.elapsed:.1f} s",
        file=sys.stderr,
        flush=True,
    )
