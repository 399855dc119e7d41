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

``Workers`` is the other side: it starts them and speaks this protocol.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Final, Self, TextIO

import anyio
import anyio.to_thread
from aiobotocore.config import AioConfig

from cognito_confirm import CognitoConfirmer

from . import alternatives as alt
from .fakeproc import USER_POOL_ID
from .live import library_session, shared_session

BASELINE_CONCURRENCY = 16
MODES = ("library", "adaptive")
_ROOT: Final = Path(__file__).resolve().parent.parent


async def _ready_then_go(lines: TextIO, out: TextIO) -> None:
    print("ready", file=out, flush=True)
    line = await anyio.to_thread.run_sync(lines.readline)
    if line.strip() != "go":
        msg = f"expected 'go' on stdin, read {line!r}"
        raise RuntimeError(msg)


async def _library(endpoint_url: str, names: Sequence[str], lines: TextIO, out: TextIO) -> int:
    async with CognitoConfirmer(
        USER_POOL_ID, endpoint_url=endpoint_url, session=library_session()
    ) as confirmer:
        await _ready_then_go(lines, out)
        failed = 0
        async with confirmer.stream(names) as results:
            async for result in results:
                failed += not result.ok
        return failed


async def _adaptive(endpoint_url: str, names: Sequence[str], lines: TextIO, out: TextIO) -> int:
    config = AioConfig(retries={"mode": "adaptive"}, max_pool_connections=BASELINE_CONCURRENCY)
    async with shared_session().create_client(
        "cognito-idp", region_name=alt.REGION, endpoint_url=endpoint_url, config=config
    ) as client:
        await _ready_then_go(lines, out)
        semaphore = asyncio.Semaphore(BASELINE_CONCURRENCY)
        done = await asyncio.gather(*(alt.confirm_one(client, semaphore, name) for name in names))
        return done.count(False)


def main(argv: Sequence[str]) -> int:
    """Run jobs until stdin ends; the fake's counters, not this process, say what was confirmed."""
    (endpoint_url,) = argv
    serve(endpoint_url, sys.stdin, sys.stdout)
    return 0


def serve(endpoint_url: str, lines: TextIO, out: TextIO) -> None:
    """The worker's side of the protocol: jobs read from ``lines``, answers written to ``out``."""
    print("started", file=out, flush=True)
    for line in lines:
        mode, users_file = line.split()
        names = Path(users_file).read_text(encoding="utf-8").split()
        if mode == "library":
            failed = anyio.run(_library, endpoint_url, names, lines, out)
        elif mode == "adaptive":
            failed = asyncio.run(_adaptive(endpoint_url, names, lines, out))
        else:
            msg = f"MODE must be one of {', '.join(MODES)}, not {mode!r}"
            raise SystemExit(msg)
        print(json.dumps({"failed": failed}), file=out, flush=True)


class Worker:
    """A ``benchmarks.worker`` process, spoken to line by line (blocking: a thread waits for
    its result while the live sign-ups run on the event loop).

    ``threaded`` (a smoke run): ``serve`` on a thread of this process instead, spoken to over
    pipes in the same way; the same jobs, with no interpreter to start."""

    def __init__(self, endpoint_url: str, *, threaded: bool = False) -> None:
        self.process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None
        self._stdin: IO[str]
        self._stdout: IO[str]
        if threaded:
            jobs, self._stdin = _pipe()
            self._stdout, answers = _pipe()
            self._thread = threading.Thread(
                target=_serve_then_close, args=(endpoint_url, jobs, answers), daemon=True
            )
            self._thread.start()
        else:
            command = [sys.executable, "-m", "benchmarks.worker", endpoint_url]
            self.process = subprocess.Popen(
                command, cwd=_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            assert self.process.stdin is not None
            assert self.process.stdout is not None
            self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self._started = False

    def wait_started(self) -> None:
        """Wait until its imports are done."""
        if not self._started:
            self._expect("started")
            self._started = True

    def start(self, mode: str, users_file: Path) -> None:
        """Give it a job and wait until its client is ready."""
        self.wait_started()
        self._send(f"{mode} {users_file}")
        self._expect("ready")

    def go(self) -> None:
        """Start its job."""
        self._send("go")

    def result(self) -> int:
        """Wait for its job to end: the users it failed."""
        failed = json.loads(self._line())["failed"]
        assert isinstance(failed, int)
        return failed

    def close(self) -> None:
        """End its input, so it ends; wait for it (kill it if it does not end)."""
        self._stdin.close()
        if self._thread is not None:
            self._thread.join()
        elif self.process is not None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._stdout.close()

    def _send(self, line: str) -> None:
        self._stdin.write(line + "\n")
        self._stdin.flush()

    def _line(self) -> str:
        return self._stdout.readline().rstrip("\n")

    def _expect(self, expected: str) -> None:
        line = self._line()
        if line != expected:
            msg = f"a benchmark worker said {line!r} instead of {expected!r}"
            raise RuntimeError(msg)


class Workers:
    """``count`` worker processes (none for a count of 1: that runs in the caller's process),
    as a context manager that ends them; ``threaded``: threads of this process (a smoke run)."""

    def __init__(self, count: int, endpoint_url: str, *, threaded: bool = False) -> None:
        self._count = count if count > 1 else 0
        self._endpoint_url = endpoint_url
        self._threaded = threaded
        self.processes: list[Worker] = []

    def __enter__(self) -> Self:
        self.processes = [
            Worker(self._endpoint_url, threaded=self._threaded) for _ in range(self._count)
        ]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for worker in self.processes:
            worker.close()

    def wait_started(self) -> None:
        """Wait until every worker's imports are done."""
        for worker in self.processes:
            worker.wait_started()


def _pipe() -> tuple[TextIO, TextIO]:
    """A pipe's two ends as text files: (read, write)."""
    read, write = os.pipe()
    return open(read, encoding="utf-8"), open(write, "w", encoding="utf-8")


def _serve_then_close(endpoint_url: str, lines: TextIO, out: TextIO) -> None:
    """``serve`` on a thread: its ends of the pipes close when it ends, as a process's would."""
    with lines, out:
        serve(endpoint_url, lines, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
