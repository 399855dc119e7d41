"""``python -m cognito_confirm.testing``: serve the fake to another process (benchmarks, a CLI)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from ._fake import FakeCognito

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cognito_confirm.testing",
        description="Serve a fault-injecting fake Cognito endpoint until SIGTERM/SIGINT. Prints "
        "endpoint_url=URL, then user_pool_id=ID. Any credentials work (the CLI still needs "
        "some: AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake), region us-east-1.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add("--port", type=int, default=0, help="TCP port; 0 picks a free one (default: %(default)s)")
    add("--pool-id", default="us-east-1_FakePool1", help="the user pool (default: %(default)s)")
    add("--quota", type=float, help="AdminConfirmSignUp + SignUp calls/s (default: unlimited)")
    add("--burst", type=float, help="calls the quota's bucket holds (default: one second's)")
    add("--list-quota", type=float, help="ListUsers calls/s (default: unlimited)")
    add("--update-quota", type=float, help="AdminUpdateUserAttributes calls/s (default: unlimited)")
    add("--latency", type=float, default=0.0, help="seconds added to every call (default: 0)")
    add(
        "--trigger-latency",
        type=float,
        default=0.0,
        help="seconds a post-confirmation trigger adds to each confirmation, after the quota "
        "admitted it (default: 0)",
    )
    add(
        "--error-rate",
        type=float,
        default=0.0,
        help="fraction 0-1 of confirmations answered InternalErrorException, HTTP 500 (default: 0)",
    )
    add(
        "--drop-rate",
        type=float,
        default=0.0,
        help="fraction 0-1 of confirmations whose connection drops with no answer (default: 0)",
    )
    add("--quota-windows", action="store_true", help="quotas as fixed 1 s windows, not buckets")
    add(
        "--service-quota",
        type=float,
        help="the UserCreation quota (calls/s) Service Quotas "
        "reports (default: none applied; the AWS default is 50)",
    )
    add("--seed", type=int, default=0, help="seed of the random faults (default: %(default)s)")
    add(
        "--users",
        type=int,
        default=0,
        help="UNCONFIRMED users to create, named user000000, user000001, ... (default: 0)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake for another process; once it listens, print ``endpoint_url=...`` and
    ``user_pool_id=...``, one line each (the first line alone is the URL, for scripts)."""
    args = _parser().parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stopping.set())
    fake = FakeCognito(
        user_pool_id=args.pool_id,
        host=args.host,
        port=args.port,
        quota=args.quota,
        burst=args.burst,
        list_quota=args.list_quota,
        update_quota=args.update_quota,
        latency=args.latency,
        trigger_latency=args.trigger_latency,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        quota_windows=args.quota_windows,
        service_quota=args.service_quota,
        seed=args.seed,
    )
    fake.add_users(f"user{index:06d}" for index in range(args.users))
    with fake:
        sys.stdout.write(f"endpoint_url={fake.endpoint_url}\nuser_pool_id={fake.user_pool_id}\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
