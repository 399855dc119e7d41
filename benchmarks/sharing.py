"""Scenario 5: sharing the UserCreation quota with live sign-ups.

The fake's AdminConfirmSignUp quota (a token bucket with a burst of one second, or fixed
one-second windows) is drawn on by live ``SignUp`` calls too, which arrive at random (Poisson)
and are never retried, as a browser would show the error. Each run confirms the same users
from scratch; what it costs the product is the share of live sign-ups throttled meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from aiobotocore.config import AioConfig

from cognito_confirm import CognitoConfirmer

from . import alternatives as alt
from .checks import TargetCheck
from .fakeproc import USER_POOL_ID, FakeProcess, FakeSettings
from .live import LiveCounts, library_session, live_sign_ups, shared_session

CONCURRENCY = 16
DEFAULT = "default"
"""The library with no ``rate`` given: its default ceiling."""


@dataclass(frozen=True, slots=True)
class SharingRun:
    """One migration beside (or without) live traffic.

    Attributes:
        label: What ran, e.g. ``cognito-confirm rate=60``.
        live: Live sign-ups per second (0 for none).
        live_for: Seconds of live traffic, or None for the whole run.
        windows: The quota as fixed one-second windows rather than a token bucket.
        rate: The library's ``rate`` (DEFAULT, a number or None); unused by a baseline.
        baseline: A baseline's name instead of the library ("gather_standard").
    """

    label: str
    live: float
    live_for: float | None = None
    windows: bool = False
    rate: float | str | None = DEFAULT
    baseline: str | None = None


@dataclass(frozen=True, slots=True)
class SharingRecord:
    """What one run measured.

    Attributes:
        run: The run.
        users: Users given.
        confirmed: Users the fake confirmed.
        calls: AdminConfirmSignUp calls the fake received.
        throttled: Of those, throttled.
        failed: Users the client failed.
        elapsed: Seconds from the first call to the last answer.
        live: The live sign-ups' counts.
        last_quarter: Confirmations per second over the last quarter of the users (library).
        free: The quota less the live traffic, averaged over the run.
        quota: The quota.
        extra: The library's pace at the end (cuts, final rate).
    """

    run: SharingRun
    users: int
    confirmed: int
    calls: int
    throttled: int
    failed: int
    elapsed: float
    live: LiveCounts
    last_quarter: float | None
    free: float
    quota: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        """Confirmations per second."""
        return self.confirmed / self.elapsed

    @property
    def share_of_free(self) -> float:
        """The migration's rate over what live traffic left."""
        return self.per_second / self.free


def runs(*, smoke: bool = False) -> list[SharingRun]:
    """The runs of scenario 5, in table order (two of them for a smoke run)."""
    every = [
        SharingRun("cognito-confirm (default rate)", live=20),
        SharingRun("cognito-confirm rate=60", live=20, rate=60),
        SharingRun("cognito-confirm rate=None", live=20, rate=None),
        SharingRun("cognito-confirm rate=200", live=20, rate=200),
        SharingRun("aiobotocore gather (standard retries)", live=20, baseline="gather_standard"),
        SharingRun("aiobotocore gather (adaptive retries)", live=20, baseline="gather_adaptive"),
        SharingRun("cognito-confirm rate=60, no live", live=0, rate=60),
        SharingRun("cognito-confirm rate=200, no live", live=0, rate=200),
        SharingRun("cognito-confirm rate=None, no live", live=0, rate=None),
        SharingRun("cognito-confirm rate=60, windows", live=0, rate=60, windows=True),
        SharingRun("cognito-confirm rate=60, live 30 s", live=20, live_for=30, rate=60),
        SharingRun("cognito-confirm rate=None, live 30 s", live=20, live_for=30, rate=None),
    ]
    smoke_labels = {"cognito-confirm (default rate)", "aiobotocore gather (standard retries)"}
    return [run for run in every if run.label in smoke_labels] if smoke else every


def run_sharing(
    quota: float, latency: float, users: int, *, smoke: bool = False
) -> list[SharingRecord]:
    """Every run of scenario 5 against one fake process."""
    names = [f"user-{n:07d}" for n in range(users)]
    records = []
    with FakeProcess(FakeSettings(quota=quota, latency=latency)) as fake:
        for run in runs(smoke=smoke):
            fake.prepare(names, windows=run.windows)
            record = _measure(fake, run, names, quota)
            print(
                f"  [sharing] {run.label}: {record.per_second:.1f}/s, "
                f"{record.throttled} throttled, live {record.live.throttled}/{record.live.sent} "
                f"throttled, {record.failed} failed, {record.elapsed:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            records.append(record)
    return records


def _measure(
    fake: FakeProcess, run: SharingRun, names: Sequence[str], quota: float
) -> SharingRecord:
    if run.baseline is not None:
        mode = "adaptive" if run.baseline == "gather_adaptive" else "standard"
        outcome = asyncio.run(_baseline(fake.endpoint_url, names, run, {"mode": mode}))
    else:
        outcome = anyio.run(_library, fake.endpoint_url, names, run)
    elapsed, failed, live, times, extra = outcome
    counts = fake.counts()
    live_seconds = elapsed if run.live_for is None else min(elapsed, run.live_for)
    free = quota - run.live * live_seconds / elapsed
    return SharingRecord(
        run=run,
        users=len(names),
        confirmed=counts.confirmations,
        calls=counts.requests,
        throttled=counts.throttled,
        failed=failed,
        elapsed=elapsed,
        live=live,
        last_quarter=_last_quarter(times),
        free=free,
        quota=quota,
        extra=extra,
    )


_Outcome = tuple[float, int, LiveCounts, list[float], dict[str, float]]


async def _library(endpoint_url: str, names: Sequence[str], run: SharingRun) -> _Outcome:
    options: dict[str, Any] = {} if run.rate == DEFAULT else {"rate": run.rate}
    async with CognitoConfirmer(
        USER_POOL_ID,
        endpoint_url=endpoint_url,
        max_connections=CONCURRENCY,
        session=library_session(),
        **options,
    ) as confirmer:
        async with live_sign_ups(
            endpoint_url, run.live, duration=run.live_for, prefix=run.label
        ) as live:
            started = time.perf_counter()
            times: list[float] = []
            failed = 0
            async with confirmer.stream(names, concurrency=CONCURRENCY) as results:
                async for result in results:
                    times.append(time.perf_counter() - started)
                    failed += not result.ok
            elapsed = time.perf_counter() - started
        limiter = confirmer.limiter
        extra = {"cuts": float(limiter.cuts), "final_rate": limiter.rate}
        return elapsed, failed, live, times, extra


async def _baseline(
    endpoint_url: str, names: Sequence[str], run: SharingRun, retries: dict[str, Any]
) -> _Outcome:
    config = AioConfig(retries=retries, max_pool_connections=CONCURRENCY)
    async with shared_session().create_client(
        "cognito-idp", region_name=alt.REGION, endpoint_url=endpoint_url, config=config
    ) as client:
        async with live_sign_ups(
            endpoint_url, run.live, duration=run.live_for, prefix=run.label
        ) as live:
            semaphore = asyncio.Semaphore(CONCURRENCY)
            started = time.perf_counter()
            done = await asyncio.gather(
                *(alt.confirm_one(client, semaphore, name) for name in names)
            )
            elapsed = time.perf_counter() - started
        return elapsed, done.count(False), live, [], {}


def _last_quarter(times: Sequence[float]) -> float | None:
    quarter = len(times) // 4
    if quarter < 2:
        return None
    last = sorted(times)[-quarter:]
    return (len(last) - 1) / (last[-1] - last[0])


def render(records: Sequence[SharingRecord], quota: float, latency: float) -> list[str]:
    """The table of scenario 5."""
    lines = [
        f"5. Sharing the quota with live sign-ups: quota {quota:g}/s (burst {quota:g}), "
        f"latency {latency * 1000:g} ms, concurrency {CONCURRENCY}, live SignUp Poisson, "
        "never retried",
        f"{'':40} {'users':>6} {'conf/s':>7} {'of free':>8} {'throttled':>10} "
        f"{'live thr':>9} {'failed':>6} {'last 1/4':>9}",
    ]
    for record in records:
        last = "-" if record.last_quarter is None else f"{record.last_quarter:.1f}"
        throttled = record.throttled / record.calls if record.calls else 0.0
        live = "-" if not record.live.sent else f"{100 * record.live.harm:.1f}%"
        lines.append(
            f"{record.run.label:40} {record.users:6d} {record.per_second:7.1f} "
            f"{record.share_of_free:8.3f} {100 * throttled:9.1f}% {live:>9} "
            f"{record.failed:6d} {last:>9}"
        )
    return lines


def targets(records: Sequence[SharingRecord]) -> list[TargetCheck]:
    """Issue 9's targets for the runs that took place (a smoke run has only some)."""
    by_label = {record.run.label: record for record in records}
    checks = []
    for label, max_harm in (
        ("cognito-confirm (default rate)", 0.01),
        ("cognito-confirm rate=60", 0.01),
        ("cognito-confirm rate=None", 0.01),
        ("cognito-confirm rate=200", 0.01),
    ):
        if (record := by_label.get(label)) is not None:
            checks.append(
                TargetCheck(
                    5,
                    f"{label}, live 20/s: live sign-ups throttled <= {max_harm:.0%}, "
                    ">= 0.85 of what live traffic leaves",
                    f"{record.live.harm:.2%} throttled, {record.share_of_free:.3f}",
                    record.live.harm <= max_harm and record.share_of_free >= 0.85,
                )
            )
    for label, max_throttled in (
        ("cognito-confirm rate=60, no live", 0.02),
        ("cognito-confirm rate=200, no live", 0.05),
        ("cognito-confirm rate=None, no live", 0.05),
        ("cognito-confirm rate=60, windows", 0.02),
    ):
        if (record := by_label.get(label)) is not None:
            throttled = record.throttled / record.calls if record.calls else 0.0
            checks.append(
                TargetCheck(
                    5,
                    f"{label}: >= 0.95 of the quota, <= {max_throttled:.0%} of calls throttled,"
                    " 0 failed",
                    f"{record.share_of_free:.3f}, {throttled:.1%}, {record.failed} failed",
                    record.share_of_free >= 0.95
                    and throttled <= max_throttled
                    and record.failed == 0,
                )
            )
    for label in ("cognito-confirm rate=60, live 30 s", "cognito-confirm rate=None, live 30 s"):
        if (record := by_label.get(label)) is not None and record.last_quarter is not None:
            floor = 0.9 * record.quota
            checks.append(
                TargetCheck(
                    5,
                    f"{label} then none: the last quarter >= 0.9 of the quota",
                    f"{record.last_quarter:.1f}/s",
                    record.last_quarter >= floor,
                )
            )
    return checks


def main(argv: Sequence[str]) -> int:
    """``python -m benchmarks.sharing [USERS]``: scenario 5 alone."""
    users = int(argv[0]) if argv else 2000
    records = run_sharing(50.0, 0.03, users)
    print("\n".join(render(records, 50.0, 0.03)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
