"""Slow calls: every AdminConfirmSignUp takes 800 ms or 1.5 s (a post-confirmation trigger).

A Lambda trigger that sends a welcome e-mail or writes a row makes each call slow; Little's law
then decides the rate: calls in flight / latency. The library sizes its calls in flight from the
pace and the latency it measures, so no ``concurrency`` is given here; beside it, the library
capped at 16 (the old default) and aiobotocore with adaptive retries under a semaphore of 16,
against the fake in its own process (quota 50/s, burst 50), in the same run.

    python3 -m benchmarks.slow [USERS]      # 2,000 users for the library, a third for the rest
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks import alternatives as alt
from benchmarks.fakeproc import FakeProcess, FakeSettings, isolate_aws_environment

LATENCIES = (0.8, 1.5)
PACE = 40.0
BASELINE_CONCURRENCY = 16


def main(argv: Sequence[str]) -> int:
    users = int(argv[0]) if argv else 2000
    isolate_aws_environment()
    runs: tuple[tuple[str, alt.RunUsers, int], ...] = (
        ("library, no concurrency given", alt.library(None, PACE), users),
        ("library, concurrency=16", alt.library(BASELINE_CONCURRENCY, PACE), users // 3),
        (
            "aiobotocore gather (adaptive retries), 16",
            alt.gather(BASELINE_CONCURRENCY, {"mode": "adaptive"}),
            users // 3,
        ),
    )
    print(
        f"{'latency':>8} {'alternative':44} {'users':>6} {'conf/s':>7} {'of 40/s':>8} {'failed':>6}"
    )
    for latency in LATENCIES:
        with FakeProcess(FakeSettings(quota=50.0, latency=latency)) as fake:
            for name, run, count in runs:
                names = [f"slow{n:06d}" for n in range(count)]
                fake.prepare(names)
                outcome = run(fake.endpoint_url, names)
                rate = count / outcome.elapsed
                print(
                    f"{latency:8.1f} {name:44} {count:6d} {rate:7.1f} {rate / PACE:8.2f} "
                    f"{outcome.failed:6d}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
