"""Slow calls beside live sign-ups, both ways the time may be spent: where a trigger runs matters.

Scenario 10 (``benchmarks/slow.py``) runs 800 ms and 1.5 s calls as a post-confirmation trigger,
with no live traffic and beside live sign-ups at 20/s. This runs the library's side of the
latter both ways a slow call's time may fall:

- ``trigger``: a post-confirmation Lambda trigger, as scenario 10 has it. Cognito runs it after
  the quota admitted the call and the user is confirmed, so a throttled call comes back at once
  and a call in flight already holds its token: 30 ms before the quota, the rest after it (the
  fake's ``trigger_latency``).
- ``before``: all of it before the quota (the fake's ``latency``), a pessimistic bound: the
  calls in flight at a refusal still reach the dry bucket after the pace has dipped
  (``docs/benchmarks.md``).

Each run is scenario 10's library run (``production``: default settings, live SignUp traffic
at 20/s never retried, the fake in its own process, quota 50/s, burst 50), its figures from
``figures.py``:

    python3 -m benchmarks.slow_live [USERS] [JSON]   # 2,000 users a run
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from . import production
from .fakeproc import FakeProcess, isolate_aws_environment
from .figures import percent, ratio
from .live import LiveShape

LATENCIES = (0.8, 1.5)
MODELS = ("trigger", "before")
LIVE = 20.0


def measure(latency: float, users: int, model: str = "trigger") -> production.Record:
    """The library's run at ``latency`` seconds a call, spent as ``model`` says (see the module
    docstring), beside live sign-ups at ``LIVE`` a second."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    before = production.LATENCY if model == "trigger" else latency
    situation = production.Situation(
        f"slow_live_{model}_{latency * 1000:g}ms",
        "slow",
        LiveShape(LIVE),
        latency=before,
        trigger=latency - before,
    )
    names = [f"user-{n:07d}" for n in range(users)]
    with FakeProcess(situation.settings) as fake:
        fake.prepare(names)
        return production.measure(fake, situation, "library", 0, names)


def main(argv: Sequence[str]) -> int:
    users = int(argv[0]) if argv else 2000
    isolate_aws_environment()
    records = [measure(latency, users, model) for model in MODELS for latency in LATENCIES]
    for record, model in zip(records, [m for m in MODELS for _ in LATENCIES], strict=True):
        numbers = record.figures
        print(
            f"{record.situation.title} ({model}): {numbers.per_second:.1f}/s, "
            f"{ratio(numbers.of_room)} of the room, live {record.live.throttled}/"
            f"{record.live.sent} throttled ({percent(numbers.live_throttled)}), "
            f"{record.failed} failed, {record.extra['cuts']:g} cuts"
        )
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as file:
            json.dump(production.as_json(records), file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
