"""Every rate a user may set, against every traffic shape: the pacer's sweep on a virtual clock.

``pacer_sim``'s table holds the shapes the issues named, each at one rate; the promise is wider
(live sign-ups kept safe at any ``rate`` and in any traffic), so this runs each shape at each
rate, in the same simulation (a 50/s token bucket with a burst of 50 unless named, 30 ms calls,
16 workers, 2,000 users, live sign-ups Poisson and never retried)::

    python3 -m benchmarks.pacer_sweep        # 10 seeds a cell, both cores (about 30 s)
    python3 -m benchmarks.pacer_sweep 40     # 40 seeds

Each line: a shape at a rate, what live traffic left on average, the migration's share of it
(median), live sign-ups throttled (median, worst seed) and, for growth, after it (worst seed).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from .pacer_sim import Outcome, Quota, Setting, Spikes, simulate

RATES: tuple[float | None, ...] = (10.0, 25.0, 40.0, 60.0, 100.0, 200.0, None)
SHAPES: dict[str, dict[str, Any]] = {
    "steady 20/s": {"live": 20.0},
    "steady 5/s": {"live": 5.0},
    "steady 35/s": {"live": 35.0},
    "steady 45/s": {"live": 45.0},
    "spikes 15->45/s": {"live": 15.0, "spikes": Spikes(45.0, 5.0, 20.0)},
    "growth 10->30/s": {"live": 10.0, "grow_at": 20.0, "grow_to": 30.0},
    "drop 30->10/s": {"live": 30.0, "grow_at": 20.0, "grow_to": 10.0},
    "2 processes": {"processes": 2},
    "4 processes": {"processes": 4},
    "windows, live 20/s": {"quota": Quota(windows=True)},
    # Slow calls: as many workers as the engine would keep in flight at 40/s (rate x latency
    # x 1.25 + 2), since the simulation's are fixed. "trigger": a post-confirmation trigger,
    # after the quota admitted the call (30 ms, then the trigger), as Cognito runs it; "slow":
    # all the time before the quota (a pessimistic bound).
    "trigger 0.8 s, live 20": {"trigger": 0.77, "concurrency": 42},
    "trigger 1.5 s, live 20": {"trigger": 1.47, "concurrency": 77},
    "slow 0.8 s, live 20": {"latency": 0.8, "concurrency": 42},
    "slow 1.5 s, live 20": {"latency": 1.5, "concurrency": 77},
    "no live": {"live": 0.0},
}


def _run(job: tuple[str, float | None, int]) -> tuple[str, float | None, Outcome]:
    shape, rate, seed = job
    return shape, rate, simulate(Setting(rate=rate, **SHAPES[shape]), seed)


def sweep(seeds: int, *, workers: int = 2) -> list[str]:
    """One line per shape and rate, the medians over ``seeds`` seeds (``workers`` processes;
    1: in this one)."""
    jobs = [(shape, rate, seed) for shape in SHAPES for rate in RATES for seed in range(seeds)]
    cells: dict[tuple[str, float | None], list[Outcome]] = {}
    if workers == 1:
        outcomes = list(map(_run, jobs))
    else:
        with ProcessPoolExecutor(workers) as pool:
            outcomes = list(pool.map(_run, jobs, chunksize=8))
    for shape, rate, outcome in outcomes:
        cells.setdefault((shape, rate), []).append(outcome)
    lines = [
        f"{'shape':22} {'rate':>5} {'left':>5} {'of it':>6} {'live thr% (worst)':>18} "
        f"{'after growth':>12}"
    ]
    for (shape, rate), runs in cells.items():
        lines.append(
            f"{shape:22} {rate or 'None'!s:>5} {statistics.median(r.free for r in runs):5.1f} "
            f"{statistics.median(r.share_of_free for r in runs):6.3f} "
            f"{100 * statistics.median(r.live_harm for r in runs):10.2f} "
            f"({100 * max(r.live_harm for r in runs):5.2f}) "
            f"{100 * max(r.late_harm for r in runs):12.2f}"
        )
    return lines


def main(argv: Sequence[str]) -> int:
    print("\n".join(sweep(int(argv[0]) if argv else 10)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
