"""Stopping, as an operator or an orchestrator does it, on a real process: prompt and complete.

The first SIGINT / SIGTERM / SIGHUP sends nothing new, gives the calls in flight ``--grace``
seconds, then abandons them, writes every result, prints the summary and exits 130 / 143 / 129.
Each signal has a real process here or in test_process (SIGINT with calls in flight); where the
signal is only the trigger (the grace, a table run's setup) the command runs in this process
and SIGINT comes from a thread: a process costs a second of CPU under coverage.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import (
    PROCESS_TIMEOUT,
    command,
    complete_lines,
    confirm_args,
    users_file,
    wait_until,
)

NAMES = [f"user{n:03d}" for n in range(100)]


def invoke_interrupted(
    args: list[str], ready: Callable[[Callable[[Callable[[], bool]], bool]], bool]
) -> Result:
    """The command line in-process (click's CliRunner), sent SIGINT from a thread once
    ``ready`` returns True. ``ready`` is given ``wait_for(condition)``, which polls the
    condition until it holds (True) or the run has ended (False)."""
    done = threading.Event()

    def wait_for(condition: Callable[[], bool]) -> bool:
        while not condition():
            if done.wait(0.01):
                return False
        return True

    def interrupt() -> None:
        if ready(wait_for):
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        return CliRunner().invoke(cli, args, catch_exceptions=False)
    finally:
        done.set()
        sender.join()


def start(
    fake: FakeCognito, report: Path, env: dict[str, str], *args: str, stdin: int | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*confirm_args(fake, report, *args)),
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str], signum: int) -> tuple[str, str, float]:
    """Send ``signum``; the process's stdout, stderr and seconds from the signal to its exit."""
    process.send_signal(signum)
    sent = time.monotonic()
    try:
        stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        process.kill()
    return stdout, stderr, time.monotonic() - sent


def confirm_calls(fake: FakeCognito) -> int:
    return sum(fake.stats().confirm_calls.values())


class Pipe:
    """A process reading ``--input -`` from a pipe that stays open until ``close()``."""

    def __init__(self, fake: FakeCognito, report: Path, env: dict[str, str], *args: str) -> None:
        read_end, self._write_end = os.pipe()
        try:
            self.process = start(fake, report, env, "--input", "-", *args, stdin=read_end)
        finally:
            os.close(read_end)

    def write(self, names: list[str]) -> None:
        """One line per name (a few KB at most: the pipe's buffer takes them at once)."""
        os.write(self._write_end, "".join(f"{name}\n" for name in names).encode())

    def close(self) -> None:
        os.close(self._write_end)


def test_sigterm_at_a_slow_rate_sends_nothing_more_and_exits_at_once(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 11 case 3: with --rate 0.5 SIGTERM was followed by 16 more calls and 32 s; now the
    call in flight finishes and is written, no call reaches Cognito after the signal, and the
    exit (143) waits for nothing else: a grace of 10 minutes would outlast the process timeout
    (60 s), so no wall-clock bound is needed. The usernames come from a pipe left open, as in
    test_process's SIGINT test (an exit with the pipe's reader blocked was a fatal error)."""
    fake.add_users(NAMES)
    fake.configure(latency=0.3)  # the first call is still in flight at the signal
    report = tmp_path / "report.jsonl"
    pipe = Pipe(fake, report, env, "--rate", "0.5", "--grace", "600")
    try:
        pipe.write(NAMES)
        wait_until(lambda: confirm_calls(fake) >= 1, pipe.process)
        calls_at_signal = confirm_calls(fake)
        signalled_at = time.monotonic()
        stdout, stderr, seconds = stop(pipe.process, signal.SIGTERM)
    finally:
        pipe.close()
    assert pipe.process.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert "Fatal Python error" not in stderr
    stats = fake.stats()
    assert stats.last_request_at is not None
    assert stats.last_request_at < signalled_at
    assert confirm_calls(fake) == calls_at_signal
    assert "stopped by SIGTERM" in stderr
    assert "report:" in stdout
    text = report.read_text()
    assert text.endswith("\n")
    written = {line["username"] for line in map(json.loads, text.splitlines())}
    assert set(stats.confirm_calls) == written  # the call in flight at the signal too
    assert len(written) < len(NAMES)
    print(f"\nSIGTERM at --rate 0.5: exit after {seconds:.2f} s, {calls_at_signal} calls before")


def test_calls_that_hang_are_abandoned_after_the_grace(fake: FakeCognito, tmp_path: Path) -> None:
    """An endpoint that stops answering: the calls in flight are abandoned after --grace, the
    results so far are written and the summary printed (the calls hang for an hour: only the
    grace can end them). In-process, with SIGINT: the grace is the point, not the signal."""
    fake.add_users(NAMES)
    report = tmp_path / "report.jsonl"
    path = users_file(tmp_path, NAMES)

    def interrupt(wait_for: Callable[[Callable[[], bool]], bool]) -> bool:
        if not wait_for(lambda: len(complete_lines(report)) >= 5):
            return False
        fake.configure(latency=3600.0)  # every call from now on hangs
        held = confirm_calls(fake)
        return wait_for(lambda: confirm_calls(fake) > held)

    args = confirm_args(fake, report, "--rate", "50", "--grace", "0.2", "--input", path)
    result = invoke_interrupted(args, interrupt)
    assert result.exit_code == 130, result.output
    assert "report:" in result.stdout
    assert "abandoning the calls still in flight" in result.stderr
    assert len(complete_lines(report)) >= 5


@pytest.mark.parametrize(("how", "code"), [("SIGHUP", 129), ("unknown pool", 2)])
def test_an_open_stdin_never_aborts_the_interpreter(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path, how: str, code: int
) -> None:
    """Issue 11 case 3: --input - from a pipe still open, then an early exit, was "Fatal Python
    error: _enter_buffered_busy" and exit 134; now the exit code of the way it stopped.

    SIGHUP (a closed terminal) was an abrupt exit 129 without summary; now like SIGTERM: here it
    comes while the run waits for the silent pipe's next line (SIGINT and SIGTERM come with the
    pipe full). An unknown pool, found once the first line is read: the setup error is one
    line, exit 2, even from a real interpreter's exit."""
    names = NAMES[:3]
    fake.add_users(names)
    report = tmp_path / "report.jsonl"
    pool = ["--user-pool-id", "us-east-1_Unknown1"] if how == "unknown pool" else []
    pipe = Pipe(fake, report, env, *pool)  # the last --user-pool-id given wins
    try:
        pipe.write(names)
        if how == "unknown pool":
            stdout, stderr = pipe.process.communicate(timeout=PROCESS_TIMEOUT)
        else:
            wait_until(lambda: len(complete_lines(report)) >= len(names), pipe.process)
            stdout, stderr, _seconds = stop(pipe.process, getattr(signal, how))
    finally:
        pipe.close()
    assert pipe.process.returncode == code, stderr
    assert "Fatal Python error" not in stderr
    assert "Traceback" not in stderr
    if how == "unknown pool":
        assert len(stderr.splitlines()) == 1, stderr
        assert "ResourceNotFoundException" in stderr
        assert not [name for name in names if name in stderr + stdout]
        assert all(fake.user_status(name) == "UNCONFIRMED" for name in names)
    else:
        assert f"stopped by {how}" in stderr
        assert "report:" in stdout
        written = {line["username"] for line in complete_lines(report)}
        assert set(fake.stats().confirm_calls) <= written


def test_a_closed_stdout_keeps_the_exit_code(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 11 case 5: `cognito-confirm confirm ... | head -0` was exit 1 whatever happened;
    now the exit code by outcome (0 here), with the report complete."""
    fake.add_users(["alice", "bob"])
    report = tmp_path / "report.jsonl"
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the summary is printed
    with os.fdopen(write_end, "w") as stdout:
        result = subprocess.run(
            command(*confirm_args(fake, report, "--input", users_file(tmp_path, ["alice", "bob"]))),
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(complete_lines(report)) == 2


LIMITED_MEMORY = (
    "import resource, runpy, sys; "
    "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    "sys.argv[0] = 'cognito-confirm'; "
    "runpy.run_module('cognito_confirm', run_name='__main__')"
)
"""The command line with its address space capped at 1 GiB: an unbounded read fails fast."""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_resume_from_dev_full_is_refused_at_once(env: dict[str, str], tmp_path: Path) -> None:
    """Issue 11 case 1: --report /dev/full --resume read zeros until killed for memory; now
    it is refused in one line, exit 2 (within the process timeout, and the memory cap fails a
    read of zeros long before it)."""
    users = users_file(tmp_path, ["alice"])
    args = ["confirm", "--user-pool-id", "us-east-1_Pool1", "--input", users]
    result = subprocess.run(
        [sys.executable, "-c", LIMITED_MEMORY, *args, "--report", "/dev/full", "--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "cognito-confirm: error: report /dev/full is not a cognito-confirm report (it is not a "
        "regular file): --resume appends only to an earlier run's report; the file was left as "
        "it is"
    ]


def test_a_signal_during_setup_says_so(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """#17 case 10: a signal while the setup waits (here for a FIFO's first line) exited 143
    with nothing on stderr and no JSON; now one line, the JSON summary, 128 + the signal."""
    fifo = tmp_path / "users.fifo"
    os.mkfifo(fifo)
    report = tmp_path / "report.jsonl"
    process = start(fake, report, env, "--input", str(fifo), "--output", "json")
    # Opening the FIFO returns once the process has opened it too: its setup is under way.
    with fifo.open("wb"):
        stdout, stderr, _seconds = stop(process, signal.SIGTERM)
    assert process.returncode == 143, stderr
    assert stderr.splitlines() == [
        "cognito-confirm: stopped by SIGTERM before the run started: nothing was sent, "
        "no report written"
    ]
    summary = json.loads(stdout)
    assert (summary["stopped_by"], summary["exit_code"]) == ("SIGTERM", 143)
    assert not report.exists()
    assert fake.stats().confirm_calls == {}


def test_a_signal_during_setup_says_so_in_a_table_run(fake: FakeCognito, tmp_path: Path) -> None:
    """The same with SIGINT and the table output, while the setup waits for DescribeUserPool
    (every call hangs), in-process: one line, exit 130, nothing sent, no report."""
    fake.add_users(NAMES)
    fake.configure(latency=3600.0)
    report = tmp_path / "report.jsonl"

    def interrupt(wait_for: Callable[[Callable[[], bool]], bool]) -> bool:
        # once the setup waits for the pool's description
        return wait_for(lambda: bool(fake.stats().requests.get("DescribeUserPool")))

    args = confirm_args(fake, report, "--input", users_file(tmp_path, NAMES), "--output", "table")
    result = invoke_interrupted(args, interrupt)
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines() == [
        "cognito-confirm: stopped by SIGINT before the run started: nothing was sent, "
        "no report written"
    ]
    assert not report.exists()
    assert fake.stats().confirm_calls == {}
