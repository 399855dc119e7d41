"""Scenarios 8-11: production's traffic, not the calm world of scenarios 1-7 (issue #16).

Live sign-ups that spike (a marketing e-mail, a launch) or grow mid-run, calls slowed by a
post-confirmation Lambda trigger (with and without live traffic; the fake runs the trigger
after the quota admitted the call, as Cognito does), and several migration processes at once,
each its own OS process with its own pace (``benchmarks/worker.py``). Every situation runs the
library with its default settings (no ``rate``, no ``concurrency``) beside aiobotocore with
botocore's adaptive retries under a semaphore of 16, in the same run against the same fake
process (quota 50/s, burst 50), the order alternating from one situation to the next. Live
``SignUp`` calls are never retried (``live.py``). The figures come from ``figures.py``.

    python3 benchmarks/run.py --production        # all four, 2,000 users a run
    python3 -m benchmarks.slow [USERS]            # slow calls alone (scenario 10)
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import anyio
import anyio.to_thread
from aiobotocore.config import AioConfig

from cognito_confirm import CognitoConfirmer

from . import alternatives as alt
from .checks import TargetCheck, render_targets, table
from .fakeproc import USER_POOL_ID, FakeProcess, FakeSettings
from .figures import (
    AFTER_GROWTH_MAX,
    LIVE_MAX,
    PACE,
    PACE_MIN,
    PROCESSES_ROOM_MIN,
    QUOTA,
    ROOM_MIN,
    SPIKE_MAX,
    SPIKE_ROOM_MIN,
    Figures,
    figures,
    percent,
    ratio,
)
from .live import LiveCounts, LiveShape, library_session, live_sign_ups, shared_session
from .worker import Workers

KINDS: Final = ("spikes", "growth", "slow", "processes")
LATENCY: Final = 0.03
BASELINE_CONCURRENCY: Final = 16
ALTERNATIVES: Final = {
    "library": "cognito-confirm (defaults)",
    "adaptive": f"aiobotocore gather (adaptive retries), {BASELINE_CONCURRENCY}",
}


@dataclass(frozen=True, slots=True)
class Situation:
    """One of production's traffic shapes.

    Attributes:
        key: Its name in the JSON results.
        kind: Which table it belongs to: one of ``KINDS``.
        live: Live sign-ups over time.
        latency: Seconds the fake takes per call before the quota.
        trigger: Seconds a post-confirmation trigger adds to each confirmation, after the quota
            admitted it (the fake's ``trigger_latency``).
        processes: Migration processes at once (1: in this process).
    """

    key: str
    kind: str
    live: LiveShape
    latency: float = LATENCY
    trigger: float = 0.0
    processes: int = 1

    @property
    def title(self) -> str:
        """Its label in the table, from the figures it runs with (a smoke run's are scaled)."""
        if self.kind == "slow":
            call = self.latency + self.trigger
            latency = f"{call:g} s" if call >= 1 else f"{call * 1000:g} ms"
            return f"{latency} calls, live {self.live.describe()}"
        if self.kind == "processes":
            return f"{self.processes} processes, live {self.live.describe()}"
        return self.live.describe()

    def scaled(self, factor: float) -> Situation:
        """The same situation with every time (shape, latencies) multiplied by ``factor``."""
        return dataclasses.replace(
            self,
            live=self.live.scaled(factor),
            latency=self.latency * factor,
            trigger=self.trigger * factor,
        )

    @property
    def settings(self) -> FakeSettings:
        """The fake's settings for it."""
        return FakeSettings(quota=QUOTA, latency=self.latency, trigger_latency=self.trigger)


SITUATIONS: Final = (
    Situation("spikes_15_45", "spikes", LiveShape(15, 45, 5, 20)),
    Situation("spikes_10_48", "spikes", LiveShape(10, 48, 3, 12)),
    Situation("spikes_20_40", "spikes", LiveShape(20, 40, 10, 30)),
    Situation("growth_10_30", "growth", LiveShape(10, grow_to=30, grow_at=20)),
    # 30 ms to Cognito, then the trigger: 800 ms and 1.5 s calls in all.
    Situation("slow_800ms", "slow", LiveShape(0), trigger=0.77),
    Situation("slow_1500ms", "slow", LiveShape(0), trigger=1.47),
    Situation("slow_800ms_live_20", "slow", LiveShape(20), trigger=0.77),
    Situation("slow_1500ms_live_20", "slow", LiveShape(20), trigger=1.47),
    Situation("processes_2", "processes", LiveShape(20), processes=2),
    Situation("processes_4", "processes", LiveShape(20), processes=4),
)
_SMOKE_KEYS: Final = (
    "spikes_10_48",
    "growth_10_30",
    "slow_800ms",
    "slow_800ms_live_20",
    "processes_2",
)
_INDEX: Final = {situation.key: index for index, situation in enumerate(SITUATIONS)}


def situations(kinds: Sequence[str], *, smoke: bool = False) -> list[Situation]:
    """The situations of these kinds, in table order (one of each kind for a smoke run)."""
    chosen = [situation for situation in SITUATIONS if situation.kind in kinds]
    return [s for s in chosen if s.key in _SMOKE_KEYS] if smoke else chosen


@dataclass(frozen=True, slots=True)
class Record:
    """One run of one alternative in one situation.

    Attributes:
        situation: The situation (as run: a smoke run's times are scaled down).
        alternative: ``library`` or ``adaptive``.
        round: Which round, from 0.
        users: Users given (split between the processes).
        confirmed: Users the fake confirmed.
        calls: AdminConfirmSignUp calls the fake received.
        throttled: Of those, throttled.
        failed: Users the alternative failed, by its own account.
        elapsed: Wall seconds from the first call (every process's "go") to the last answer.
        live: The live sign-ups' counts.
        room: The quota less the live shape's mean rate over ``elapsed``.
        extra: The library's pace at the end, in one process (throttles, cuts, final rate).
    """

    situation: Situation
    alternative: str
    round: int
    users: int
    confirmed: int
    calls: int
    throttled: int
    failed: int
    elapsed: float
    live: LiveCounts
    room: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def figures(self) -> Figures:
        """What the counts mean (``figures.py``)."""
        return figures(
            confirmed=self.confirmed,
            elapsed=self.elapsed,
            calls=self.calls,
            throttled=self.throttled,
            live=self.live,
            room=self.room,
        )

    @property
    def name(self) -> str:
        """The alternative's label in the tables."""
        return ALTERNATIVES[self.alternative]


def run_production(
    kinds: Sequence[str], users: int, rounds: int, *, time_scale: float = 1.0, smoke: bool = False
) -> list[Record]:
    """Every situation of these kinds, both alternatives, ``rounds`` times, against one fake
    (``prepare`` sets each situation's latency); rows in table order."""
    chosen = [situation.scaled(time_scale) for situation in situations(kinds, smoke=smoke)]
    names = [f"prod-{n:07d}" for n in range(users)]
    records: list[Record] = []
    with (
        FakeProcess(FakeSettings(quota=QUOTA, latency=LATENCY * time_scale)) as fake,
        Workers(
            max((s.processes for s in chosen), default=1), fake.endpoint_url, threaded=smoke
        ) as workers,
    ):
        if not smoke:
            # Their start-up (a second of CPU each) would otherwise fall into the first run;
            # a smoke run's are threads, with nothing to import.
            workers.wait_started()
        for round_ in range(rounds):
            for situation in chosen:
                fake.settings = situation.settings
                order = _order(_INDEX[situation.key] + round_)
                if situation.processes > 1:
                    records += anyio.run(_processes, fake, workers, situation, order, round_, names)
                    continue
                for alternative in order:
                    fake.prepare(names)
                    records.append(measure(fake, situation, alternative, round_, names))
    rank = {situation.key: index for index, situation in enumerate(chosen)}
    return sorted(
        records, key=lambda r: (rank[r.situation.key], r.round, r.alternative != "library")
    )


def _order(shift: int) -> list[str]:
    keys = list(ALTERNATIVES)
    shift %= len(keys)
    return [*keys[shift:], *keys[:shift]]


_Outcome = tuple[float, int, LiveCounts, dict[str, float]]


def measure(
    fake: FakeProcess, situation: Situation, alternative: str, round_: int, names: Sequence[str]
) -> Record:
    """One run of ``alternative`` in ``situation`` (one process), against ``fake`` prepared
    with ``names``."""
    prefix = f"{situation.key}-{alternative}-{round_}"
    if alternative == "library":
        outcome = anyio.run(_library, fake.endpoint_url, names, situation.live, prefix)
    else:
        outcome = asyncio.run(_adaptive(fake.endpoint_url, names, situation.live, prefix))
    return _record(fake, situation, alternative, round_, names, outcome)


def _record(
    fake: FakeProcess,
    situation: Situation,
    alternative: str,
    round_: int,
    names: Sequence[str],
    outcome: _Outcome,
) -> Record:
    """The record of a run that just ended: the client's outcome and the fake's counters."""
    elapsed, failed, live, extra = outcome
    counts = fake.counts()
    record = Record(
        situation=situation,
        alternative=alternative,
        round=round_,
        users=len(names),
        confirmed=counts.confirmations,
        calls=counts.requests,
        throttled=counts.throttled,
        failed=failed,
        elapsed=elapsed,
        live=live,
        room=QUOTA - situation.live.mean(elapsed),
        extra=extra,
    )
    _progress(record)
    return record


async def _library(
    endpoint_url: str, names: Sequence[str], shape: LiveShape, prefix: str
) -> _Outcome:
    async with (
        CognitoConfirmer(
            USER_POOL_ID, endpoint_url=endpoint_url, session=library_session()
        ) as confirmer,
        live_sign_ups(endpoint_url, shape, prefix=prefix) as live,
    ):
        started = time.perf_counter()
        failed = 0
        async with confirmer.stream(names) as results:
            async for result in results:
                failed += not result.ok
        elapsed = time.perf_counter() - started
        limiter = results.limiter
        extra = {
            "throttles": float(limiter.throttles),
            "cuts": float(limiter.cuts),
            "final_rate": limiter.rate,
        }
    return elapsed, failed, live, extra


async def _adaptive(
    endpoint_url: str, names: Sequence[str], shape: LiveShape, prefix: str
) -> _Outcome:
    config = AioConfig(retries={"mode": "adaptive"}, max_pool_connections=BASELINE_CONCURRENCY)
    async with (
        shared_session().create_client(
            "cognito-idp", region_name=alt.REGION, endpoint_url=endpoint_url, config=config
        ) as client,
        live_sign_ups(endpoint_url, shape, prefix=prefix) as live,
    ):
        semaphore = asyncio.Semaphore(BASELINE_CONCURRENCY)
        started = time.perf_counter()
        done = await asyncio.gather(*(alt.confirm_one(client, semaphore, name) for name in names))
        elapsed = time.perf_counter() - started
    return elapsed, done.count(False), live, {}


async def _processes(
    fake: FakeProcess,
    workers: Workers,
    situation: Situation,
    order: Sequence[str],
    round_: int,
    names: Sequence[str],
) -> list[Record]:
    """``situation.processes`` workers, each with a share of the users, started at once; the
    same workers run each alternative in turn, each time with new clients (``worker.py``)."""
    count = situation.processes
    chosen = workers.processes[:count]
    records = []
    with tempfile.TemporaryDirectory() as directory:
        files = [Path(directory) / f"users-{index}.txt" for index in range(count)]
        for index, path in enumerate(files):
            path.write_text("\n".join(names[index::count]) + "\n", encoding="utf-8")
        for alternative in order:
            fake.prepare(names)
            for worker, path in zip(chosen, files, strict=True):
                worker.start(alternative, path)
            prefix = f"{situation.key}-{alternative}-{round_}"
            async with live_sign_ups(fake.endpoint_url, situation.live, prefix=prefix) as live:
                started = time.perf_counter()
                for worker in chosen:
                    worker.go()
                failed = 0
                for worker in chosen:
                    failed += await anyio.to_thread.run_sync(worker.result)
                elapsed = time.perf_counter() - started
            outcome: _Outcome = (elapsed, failed, live, {})
            records.append(_record(fake, situation, alternative, round_, names, outcome))
    return records


def _progress(record: Record) -> None:
    numbers = record.figures
    print(
        f"  [{record.situation.kind}] {record.situation.title}, {record.name}: "
        f"{numbers.per_second:.1f}/s, {record.throttled} throttled, live "
        f"{record.live.throttled}/{record.live.sent} throttled, {record.failed} failed, "
        f"{record.elapsed:.1f} s",
        file=sys.stderr,
        flush=True,
    )


def _of_kind(records: Sequence[Record], kind: str) -> list[Record]:
    return [record for record in records if record.situation.kind == kind]


def _users(records: Sequence[Record]) -> str:
    counts = sorted({record.users for record in records})
    return "/".join(f"{count:,}" for count in counts)


def render(records: Sequence[Record]) -> list[str]:
    """The tables of scenarios 8-11, for the kinds that ran; each target beside its column."""
    parts: list[str] = []
    common = f"quota {QUOTA:g}/s (burst {QUOTA:g}), live SignUp Poisson never retried"
    renderers = (
        ("spikes", "8. Spiking live traffic", _spike_row, _SPIKE_HEADERS),
        ("growth", "9. Growing live traffic", _growth_row, _GROWTH_HEADERS),
        ("slow", "10. Slow calls (a post-confirmation trigger)", _slow_row, _SLOW_HEADERS),
        ("processes", "11. Several migration processes at once", _processes_row, _PROC_HEADERS),
    )
    for kind, title, row, headers in renderers:
        if rows := _of_kind(records, kind):
            latency = "" if kind == "slow" else f", latency {rows[0].situation.latency * 1000:g} ms"
            heading = f"{title}: {common}{latency}, {_users(rows)} users a run, default settings"
            parts.append(f"{heading}\n{table(headers, [row(record) for record in rows])}")
    if records:
        parts.append(_NOTES)
    return parts


_NOTES = (
    "of room = confirmations/s over the capacity live traffic leaves on average (50/s less the\n"
    "live shape's mean rate over the run); live thr = share of all live sign-ups throttled; in\n"
    "spikes = of those sent inside a spike; after growth = of those sent from 5 s after it;\n"
    "of 40/s = the share of the library's default pace reached; calls thr = share of the\n"
    "migration's own calls throttled. Targets in brackets (issue #16) are for the library."
)
_COMMON = ["alternative", "conf/s"]
_TAIL = ["calls thr", "failed", "wall s"]
_SPIKE_HEADERS = [
    "shape",
    *_COMMON,
    f"of room [>={SPIKE_ROOM_MIN}]",
    f"live thr [<={LIVE_MAX:.0%}]",
    f"in spikes [<={SPIKE_MAX:.0%}]",
    *_TAIL,
]
_GROWTH_HEADERS = [
    "shape",
    *_COMMON,
    "of room",
    "live thr",
    f"after growth [<={AFTER_GROWTH_MAX:.0%}]",
    *_TAIL,
]
_SLOW_HEADERS = [
    "calls",
    *_COMMON,
    f"of 40/s [>={PACE_MIN}, no live]",
    f"of room [>={ROOM_MIN}]",
    f"live thr [<={LIVE_MAX:.0%}]",
    *_TAIL,
]
_PROC_HEADERS = [
    "processes",
    *_COMMON,
    f"of 30/s left [>={PROCESSES_ROOM_MIN}]",
    f"live thr [<={LIVE_MAX:.0%}]",
    *_TAIL,
]


def _start(record: Record) -> list[str]:
    return [record.situation.title, record.name, f"{record.figures.per_second:.1f}"]


def _tail(record: Record) -> list[str]:
    return [percent(record.figures.calls_throttled), str(record.failed), f"{record.elapsed:.1f}"]


def _spike_row(record: Record) -> list[str]:
    numbers = record.figures
    shares = [ratio(numbers.of_room), percent(numbers.live_throttled)]
    return [*_start(record), *shares, percent(numbers.spike_throttled), *_tail(record)]


def _growth_row(record: Record) -> list[str]:
    numbers = record.figures
    shares = [ratio(numbers.of_room), percent(numbers.live_throttled)]
    return [*_start(record), *shares, percent(numbers.after_growth_throttled), *_tail(record)]


def _slow_row(record: Record) -> list[str]:
    numbers = record.figures
    shares = [ratio(numbers.of_pace), ratio(numbers.of_room), percent(numbers.live_throttled)]
    return [*_start(record), *shares, *_tail(record)]


def _processes_row(record: Record) -> list[str]:
    numbers = record.figures
    return [
        *_start(record),
        ratio(numbers.of_room),
        percent(numbers.live_throttled),
        *_tail(record),
    ]


def targets(records: Sequence[Record]) -> list[TargetCheck]:
    """Issue 16's targets, one line per library run."""
    return [_target(record) for record in records if record.alternative == "library"]


def _target(record: Record) -> TargetCheck:
    numbers = record.figures
    title = record.situation.title
    kind = record.situation.kind
    if kind == "spikes":
        spike, live, room = numbers.spike_throttled, numbers.live_throttled, numbers.of_room
        return TargetCheck(
            8,
            f"spikes {title}: live throttled <= {LIVE_MAX:.0%}, inside spikes <= "
            f"{SPIKE_MAX:.0%}, >= {SPIKE_ROOM_MIN} of the room live leaves",
            f"{percent(live)}, {percent(spike)}, {ratio(room)}",
            _at_most(live, LIVE_MAX)
            and _at_most(spike, SPIKE_MAX)
            and _at_least(room, SPIKE_ROOM_MIN),
        )
    if kind == "growth":
        after = numbers.after_growth_throttled
        return TargetCheck(
            9,
            f"growth {title}: <= {AFTER_GROWTH_MAX:.0%} of live throttled after the growth",
            percent(after),
            _at_most(after, AFTER_GROWTH_MAX),
        )
    if kind == "slow" and numbers.live_throttled is not None:
        room, live = numbers.of_room, numbers.live_throttled
        return TargetCheck(
            10,
            f"{title}: live throttled <= {LIVE_MAX:.0%}, >= {ROOM_MIN} of the room live leaves",
            f"{percent(live)}, {ratio(room)}",
            _at_most(live, LIVE_MAX) and _at_least(room, ROOM_MIN),
        )
    if kind == "slow":
        return TargetCheck(
            10,
            f"{title}, no concurrency given: >= {PACE_MIN} of the pace ({PACE:g}/s)",
            f"{numbers.of_pace:.3f} ({numbers.per_second:.1f}/s)",
            numbers.of_pace >= PACE_MIN,
        )
    room, live = numbers.of_room, numbers.live_throttled
    return TargetCheck(
        11,
        f"{title}: live throttled <= {LIVE_MAX:.0%}, >= {PROCESSES_ROOM_MIN} of the 30/s left "
        "in total",
        f"{percent(live)}, {ratio(room)}",
        _at_most(live, LIVE_MAX) and _at_least(room, PROCESSES_ROOM_MIN),
    )


def _at_most(share: float | None, bound: float) -> bool:
    """Whether a share is within its bound; one that could not be measured (no sign-up fell
    inside a spike: a run too short) does not count as met."""
    return share is not None and share <= bound


def _at_least(share: float | None, bound: float) -> bool:
    return share is not None and share >= bound


def as_json(records: Sequence[Record]) -> list[dict[str, object]]:
    """The records as JSON-ready objects, each with its figures."""
    return [
        {
            **dataclasses.asdict(record),
            "name": record.name,
            "figures": dataclasses.asdict(record.figures),
        }
        for record in records
    ]


def lines(records: Sequence[Record]) -> Iterator[str]:
    """Every table and the targets, as ``python -m benchmarks.slow`` prints them."""
    yield from render(records)
    yield render_targets(targets(records))
