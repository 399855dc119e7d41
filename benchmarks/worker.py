"""One migration process of several: ``python -m benchmarks.worker ENDPOINT_URL``.

Production splits a big migration (a split input file, a Job with parallelism 4, one migration
per tenant pool): each process has its own client and its own pace, and none knows the others.
This is one of them. Once imported it prints ``started``, then reads jobs on stdin, one line
each: ``MODE USERS_FILE``. For each it creates a fresh client, prints ``ready``, waits for
``go`` (so that every process starts at once, whatever its import time), confirms the file's
users, closes the client and prints one JSON line: ``{"failed": N}``. It ends at the end of its
input. MODE is ``library`` (a ``CognitoConfirmer`` with default settings) or ``adaptive``
(aiobotocore with botocore's adaptive retries under a semaphore of 16). One process runs every
job, each with its own client: starting Python with aiobotocore costs about a second of CPU,
which a smoke run would otherwise pay again for each alternative and each situation.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.to_thread
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from cognito_confirm import CognitoConfirmer

from . import alternatives as alt
from .fakeproc import USER_POOL_ID

BASELINE_CONCURRENCY = 16
MODES = ("library", "adaptive")


async def _ready_then_go() -> None:
    print("ready", flush=True)
    line = await anyio.to_thread.run_sync(sys.stdin.readline)
    if line.strip() != "go":
        msg = f"expected 'go' on stdin, read {line!r}"
        raise RuntimeError(msg)


async def _library(endpoint_url: str, names: Sequence[str]) -> int:
    async with CognitoConfirmer(USER_POOL_ID, endpoint_url=endpoint_url) as confirmer:
        await _ready_then_go()
        failed = 0
        async with confirmer.stream(names) as results:
            async for result in results:
                failed += not result.ok
        return failed


async def _adaptive(endpoint_url: str, names: Sequence[str]) -> int:
    config = AioConfig(retries={"mode": "adaptive"}, max_pool_connections=BASELINE_CONCURRENCY)
    async with AioSession().create_client(
        "cognito-idp", region_name=alt.REGION, endpoint_url=endpoint_url, config=config
    ) as client:
        await _ready_then_go()
        semaphore = asyncio.Semaphore(BASELINE_CONCURRENCY)
        done = await asyncio.gather(*(alt.confirm_one(client, semaphore, name) for name in names))
        return done.count(False)


def main(argv: Sequence[str]) -> int:
    """Run jobs until stdin ends; the fake's counters, not this process, say what was confirmed."""
    (endpoint_url,) = argv
    print("started", flush=True)
    for line in sys.stdin:
        mode, users_file = line.split()
        names = Path(users_file).read_text(encoding="utf-8").split()
        if mode == "library":
            failed = anyio.run(_library, endpoint_url, names)
        elif mode == "adaptive":
            failed = asyncio.run(_adaptive(endpoint_url, names))
        else:
            msg = f"MODE must be one of {', '.join(MODES)}, not {mode!r}"
            raise SystemExit(msg)
        print(json.dumps({"failed": failed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
