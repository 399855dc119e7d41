"""``python -m cognito_confirm.testing``: serve the fake to another process (benchmarks)."""

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
        description="Serve a fault-injecting fake Cognito endpoint until SIGTERM/SIGINT.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pool-id", default="us-east-1_FakePool1")
    parser.add_argument("--quota", type=float, default=None)
    parser.add_argument("--burst", type=float, default=None)
    parser.add_argument("--list-quota", type=float, default=None)
    parser.add_argument("--update-quota", type=float, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--quota-windows", action="store_true", help="fixed 1 s windows")
    parser.add_argument("--service-quota", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=0, help="UNCONFIRMED users user000000...")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake for another process; print one ``endpoint_url=...`` line once it listens."""
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
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        quota_windows=args.quota_windows,
        service_quota=args.service_quota,
        seed=args.seed,
    )
    fake.add_users(f"user{index:06d}" for index in range(args.users))
    with fake:
        sys.stdout.write(f"endpoint_url={fake.endpoint_url}\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
