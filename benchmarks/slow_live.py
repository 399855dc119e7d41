"""Slow calls beside live sign-ups: not a scenario of ``run.py`` yet, a gap found by the sweep.

Scenario 10 (``benchmarks/slow.py``) runs 800 ms and 1.5 s calls with no live traffic, where the
pace alone sets the rate. Beside live sign-ups it matters where the time is spent:

- ``trigger``: a post-confirmation Lambda trigger. Cognito runs it after the quota admitted the
  call and the user is confirmed, so a throttled call comes back at once and a call in flight
  already holds its token. The fake's ``trigger_latency``, after 30 ms before the quota.
- ``before``: all of it before the quota (the fake's ``latency``), a pessimistic bound: the
  calls in flight at a refusal still reach the dry bucket after the pace has dipped
  (``docs/benchmarks.md``).

This runs the library with default settings beside live SignUp traffic at 20/s, never retried,
against the fake in its own process (quota 50/s, burst 50), one run per latency and model:

    python3 -m benchmarks.slow_live [USERS] [JSON]   # 2,000 users a run
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from .fakeproc import FakeProcess, FakeSettings, isolate_aws_environment
from .live import LiveShape
from .production import _library

LATENCIES = (0.8, 1.5)
MODELS = ("trigger", "before")
NETWORK = 0.03
"""Seconds of a trigger's call spent before the quota (the network and Cognito's front)."""
LIVE = 20.0
QUOTA = 50.0


def measure(latency: float, users: int, model: str = "trigger") -> dict[str, Any]:
    """One run at ``latency`` seconds a call (scenario 8-11's library run, default settings),
    spent as ``model`` says (see the module docstring): the rate, its share of what live
    traffic leaves, and the live sign-ups throttled."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, not {model!r}")
    before = NETWORK if model == "trigger" else latency
    settings = FakeSettings(quota=QUOTA, latency=before, trigger_latency=latency - before)
    names = [f"user-{n:07d}" for n in range(users)]
    with FakeProcess(settings) as fake:
        fake.prepare(names, windows=False)
        elapsed, failed, live, extra = anyio.run(
            _library, fake.endpoint_url, names, LiveShape(LIVE), "slow-live"
        )
        confirmed = fake.counts().confirmations
    per_second = confirmed / elapsed
    return {
        "latency": latency,
        "model": model,
        "elapsed": elapsed,
        "failed": failed,
        "live_sent": live.sent,
        "live_throttled": live.throttled,
        **extra,
        "per_second": per_second,
        "of_room": per_second / (QUOTA - LIVE),
        "live_harm": live.throttled / live.sent if live.sent else 0.0,
    }


def main(argv: Sequence[str]) -> int:
    users = int(argv[0]) if argv else 2000
    isolate_aws_environment()
    records = [measure(latency, users, model) for model in MODELS for latency in LATENCIES]
    for record in records:
        print(
            f"{record['latency'] * 1000:6.0f} ms calls ({record['model']:7}), live {LIVE:g}/s: "
            f"{record['per_second']:.1f}/s, {record['of_room']:.3f} of the room, "
            f"live {record['live_throttled']}/{record['live_sent']} throttled "
            f"({100 * record['live_harm']:.2f}%), {record['failed']} failed, "
            f"{record['cuts']:g} cuts"
        )
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as file:
            json.dump(records, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
