"""Slow calls alone (scenario 10 of ``benchmarks/run.py``): every call takes 800 ms or 1.5 s.

A Lambda trigger that sends a welcome e-mail or writes a row makes each call slow; Little's law
then decides the rate: calls in flight / latency. The fake takes 30 ms, then runs the trigger
after the quota admitted the call (as Cognito does), with no live traffic and beside live
sign-ups at 20/s. The library with no ``concurrency`` given beside aiobotocore with adaptive
retries under a semaphore of 16, against the fake in its own process (quota 50/s, burst 50), in
the same run. ``benchmarks/production.py`` runs it; this is
the short way to run only it:

    python3 -m benchmarks.slow [USERS]      # 2,000 users a run (= run.py --only slow)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks import production
from benchmarks.fakeproc import isolate_aws_environment


def main(argv: Sequence[str]) -> int:
    """Run scenario 10 and print its table and targets."""
    users = int(argv[0]) if argv else 2000
    isolate_aws_environment()
    records = production.run_production(["slow"], users, rounds=1)
    print("\n\n".join(production.lines(records)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
