"""Confirm a migrated user base from a file, writing each result to a JSONL report as it lands.

    python examples/bulk_migrate.py --user-pool-id eu-west-1_AbC123 \\
        --input users.txt --report report.jsonl [--endpoint-url URL] [--rate 40] [--concurrency 16]

One username a line (blank lines are ignored). The input is read as the run goes, never held in
memory, and each result is written as soon as it completes, so an interrupted run still leaves a
report of what it did; an input that cannot be read (a byte that is not UTF-8) stops the run
after the calls in flight, whose results are written before its error is raised. The report
holds usernames, so it is created readable by its owner only (0o600), and never overwrites an
earlier report. Exit status 0 when every user ended confirmed,
already confirmed or a duplicate, 1 otherwise, 2 for a usage error. Credentials,
profile and region come from the usual AWS configuration. This is an example of the library
API; the ``cognito-confirm`` command does the same job with resume, progress and more options.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path

import anyio

from cognito_confirm import CognitoConfirmer, ConfirmResult, Outcome, SetupError


async def usernames_in(lines: anyio.AsyncFile[str]) -> AsyncGenerator[str, None]:
    """The usernames of an open file, one a line, read as the run asks for them."""
    async for line in lines:
        if name := line.strip():
            yield name


def private_opener(path: str, flags: int) -> int:
    """Open with mode 0o600; with ``"x"`` the file is new, so the mode is the one given here."""
    return os.open(path, flags, 0o600)


async def migrate(args: argparse.Namespace) -> int:
    confirmer = CognitoConfirmer(args.user_pool_id, endpoint_url=args.endpoint_url, rate=args.rate)
    counts: Counter[Outcome] = Counter()
    stopped = False
    async with (
        await anyio.open_file(args.input, encoding="utf-8") as lines,
        await anyio.open_file(args.report, "x", encoding="utf-8", opener=private_opener) as report,
        aclosing(usernames_in(lines)) as usernames,
    ):
        try:
            async with confirmer:
                results = confirmer.stream(usernames, concurrency=args.concurrency)
                async with results:
                    async for result in results:
                        await write(report, result)
                        counts[result.outcome] += 1
        except SetupError as error:  # unknown pool, no credentials, access denied: stop
            print(f"stopped early: {error}", file=sys.stderr)
            stopped = True
    for outcome in Outcome:
        if counts[outcome]:
            print(f"{outcome.value:>18}: {counts[outcome]}")
    failures = sum(count for outcome, count in counts.items() if not outcome.ok)
    print(f"{counts.total()} users, {failures} need attention, report: {args.report}")
    return 1 if failures or stopped else 0


async def write(report: anyio.AsyncFile[str], result: ConfirmResult) -> None:
    """One JSON line per result, flushed so the report is current if the run is interrupted."""
    await report.write(json.dumps(dataclasses.asdict(result), ensure_ascii=False) + "\n")
    await report.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--input", required=True, type=Path, help="one username a line")
    parser.add_argument("--report", required=True, type=Path, help="JSONL, must not exist")
    parser.add_argument("--endpoint-url", help="e.g. a local moto server")
    parser.add_argument(
        "--rate",
        type=lambda text: "auto" if text == "auto" else float(text),
        default=40.0,
        help="calls per second at most, or 'auto' (the account's quota less 20%%)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(migrate(args))
    except SetupError as error:  # a malformed pool id, found before any file is touched
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FileExistsError:
        print(f"error: {args.report} exists; choose a new report file", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
