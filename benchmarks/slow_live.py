"""Slow calls beside live sign-ups: not a scenario of ``run.py`` yet, a gap found by the sweep.

Scenario 10 (``benchmarks/slow.py``) runs 800 ms and 1.5 s calls with no live traffic, where the
pace alone sets the rate. Beside live sign-ups the calls in flight at a refusal still reach the
dry bucket after the pace has dipped (``docs/benchmarks.md``). This runs the library with
default settings beside live SignUp traffic at 20/s, never retried, against the fake in its own
process (quota 50/s, burst 50), one run per latency:

    python3 -m benchmarks.slow_live [USERS] [JSON]   # 2,000 users a run
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import anyio

from cognito_confirm import CognitoConfirmer

from .fakeproc import USER_POOL_ID, FakeProcess, FakeSettings, isolate_aws_environment
from .live import library_session, live_sign_ups

LATENCIES = (0.8, 1.5)
LIVE = 20.0
QUOTA = 50.0


async def _run(endpoint_url: str, names: Sequence[str]) -> dict[str, Any]:
    async with CognitoConfirmer(
        USER_POOL_ID, endpoint_url=endpoint_url, session=library_session()
    ) as confirmer:
        async with live_sign_ups(endpoint_url, LIVE, prefix="slow-live") as live:
            started = time.perf_counter()
            failed = 0
            async with confirmer.stream(names) as results:
                async for result in results:
                    failed += not result.ok
            elapsed = time.perf_counter() - started
        return {
            "elapsed": elapsed,
            "failed": failed,
            "live_sent": live.sent,
            "live_throttled": live.throttled,
            "max_in_flight": results.max_in_flight,
            "cuts": confirmer.limiter.cuts,
        }


def measure(latency: float, users: int) -> dict[str, Any]:
    """One run at ``latency`` seconds a call: the rate, its share of what live traffic leaves,
    and the live sign-ups throttled."""
    names = [f"user-{n:07d}" for n in range(users)]
    with FakeProcess(FakeSettings(quota=QUOTA, latency=latency)) as fake:
        fake.prepare(names, windows=False)
        run = anyio.run(_run, fake.endpoint_url, names)
        confirmed = fake.counts().confirmations
    per_second = confirmed / run["elapsed"]
    return {
        "latency": latency,
        **run,
        "per_second": per_second,
        "of_room": per_second / (QUOTA - LIVE),
        "live_harm": run["live_throttled"] / run["live_sent"] if run["live_sent"] else 0.0,
    }


def main(argv: Sequence[str]) -> int:
    users = int(argv[0]) if argv else 2000
    isolate_aws_environment()
    records = [measure(latency, users) for latency in LATENCIES]
    for record in records:
        print(
            f"{record['latency'] * 1000:6.0f} ms calls, live {LIVE:g}/s: "
            f"{record['per_second']:.1f}/s, {record['of_room']:.3f} of the room, "
            f"live {record['live_throttled']}/{record['live_sent']} throttled "
            f"({100 * record['live_harm']:.2f}%), {record['failed']} failed, "
            f"{record['max_in_flight']} in flight at most"
        )
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as file:
            json.dump(records, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
