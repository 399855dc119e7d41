"""4. Memory: peak RSS of ``stream()`` over N distinct usernames, each N in its own process.

The child (``python -m benchmarks.memory COUNT``) confirms COUNT usernames from a generator
through a client that answers at once, then prints its peak RSS as JSON. The engine holds the
set of names seen (to report duplicates), so the peak may grow with the number of distinct
names, by the set entry and the string: the target is at most 100 bytes each.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Final, cast

import anyio

from cognito_confirm import CognitoConfirmer

from .alternatives import unpaced
from .fakeproc import USER_POOL_ID

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

ROOT: Final = Path(__file__).resolve().parent.parent
CONCURRENCY: Final = 16
_TIMEOUT: Final = 900.0


@dataclass(frozen=True, slots=True)
class MemoryRun:
    """One child process's figures.

    Attributes:
        count: Distinct usernames streamed.
        results: Results received (should equal ``count``).
        baseline_kib: Peak RSS before streaming (interpreter, imports, client), in KiB.
        peak_kib: Peak RSS at the end, in KiB.
        elapsed: Seconds the stream took.
    """

    count: int
    results: int
    baseline_kib: int
    peak_kib: int
    elapsed: float


class _InstantClient:
    """Just what ``CognitoConfirmer(client=...)`` uses of an aiobotocore client."""

    meta = SimpleNamespace(config=SimpleNamespace(max_pool_connections=64))

    async def admin_confirm_sign_up(self, **_kwargs: object) -> dict[str, object]:
        return {}


def _usernames(count: int) -> Iterator[str]:
    return (f"user-{n:07d}" for n in range(count))


def _peak_kib() -> int:
    """This process's peak RSS in KiB: ``VmHWM`` where Linux has it, else ``ru_maxrss``.

    Why not ``ru_maxrss`` alone: Linux carries it across ``execve``, and subprocess starts the
    child with vfork + exec, so the child's ``ru_maxrss`` starts at the *parent's* peak (the
    benchmark's, ~100 MiB) and would hide the 20,000-name figure. ``VmHWM`` belongs to the new
    address space only.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


async def _stream(count: int) -> MemoryRun:
    client = cast("CognitoIdentityProviderClient", _InstantClient())
    async with CognitoConfirmer(USER_POOL_ID, client=client, limiter=unpaced()) as confirmer:
        baseline = _peak_kib()
        started = time.perf_counter()
        results = 0
        async with confirmer.stream(_usernames(count), concurrency=CONCURRENCY) as stream:
            async for _result in stream:
                results += 1
        elapsed = time.perf_counter() - started
    return MemoryRun(count, results, baseline, _peak_kib(), elapsed)


def measure(count: int, *, in_process: bool = False) -> MemoryRun:
    """Run the child for ``count`` usernames and read its figures.

    ``in_process`` (a smoke run) streams in this process instead: the same stream and figures,
    without starting an interpreter, but its peak RSS is this process's, not the stream's.
    """
    if in_process:
        return anyio.run(_stream, count)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        msg = f"the memory child for {count} failed:\n{completed.stderr}"
        raise RuntimeError(msg)
    return MemoryRun(**json.loads(completed.stdout))


def bytes_per_name(small: MemoryRun, large: MemoryRun) -> float:
    """Extra peak RSS per extra distinct username, in bytes."""
    return (large.peak_kib - small.peak_kib) * 1024 / (large.count - small.count)


def main(argv: list[str]) -> None:
    """The child: stream ``argv[0]`` usernames, print the figures as JSON."""
    run = anyio.run(_stream, int(argv[0]))
    print(json.dumps(dataclasses.asdict(run)))


if __name__ == "__main__":
    main(sys.argv[1:])
