"""Stopping, as an operator or an orchestrator does it, on a real process: prompt and complete.

The first SIGINT / SIGTERM / SIGHUP sends nothing new, gives the calls in flight ``--grace``
seconds, then abandons them, writes every result, prints the summary and exits 130 / 143 / 129.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_sigterm_at_a_slow_rate_sends_nothing_more_and_exits_at_once(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 11 case 3: with --rate 0.5 SIGTERM was followed by 16 more calls and 32 s; now no
    call reaches Cognito after the signal and the exit (143) comes without waiting: a grace of
    10 minutes would outlast the process timeout (60 s), so no wall-clock bound is needed."""
    fake.add_users(NAMES)
    report = tmp_path / "report.jsonl"
    grace = 600.0
    process = start(
        fake,
        report,
        env,
        "--rate",
        "0.5",
        "--grace",
        str(grace),
        "--input",
        users_file(tmp_path, NAMES),
    )
    wait_until(lambda: len(complete_lines(report)) >= 1, process)
    calls_at_signal = confirm_calls(fake)
    signalled_at = time.monotonic()
    stdout, stderr, seconds = stop(process, signal.SIGTERM)
    assert process.returncode == 143, stderr
    stats = fake.stats()
    assert stats.last_request_at is not None
    assert stats.last_request_at < signalled_at
    assert confirm_calls(fake) == calls_at_signal
    assert "stopped by SIGTERM" in stderr
    assert "report:" in stdout
    written = {line["username"] for line in complete_lines(report)}
    assert set(stats.confirm_calls) == written
    print(f"\nSIGTERM at --rate 0.5: exit after {seconds:.2f} s, {calls_at_signal} calls before")


def test_sighup_is_a_stop_signal_with_a_summary(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """SIGHUP (a closed terminal) was an abrupt exit 129 without summary; now like SIGTERM."""
    fake.add_users(NAMES)
    report = tmp_path / "report.jsonl"
    process = start(fake, report, env, "--rate", "5", "--input", users_file(tmp_path, NAMES))
    wait_until(lambda: len(complete_lines(report)) >= 3, process)
    stdout, stderr, _seconds = stop(process, signal.SIGHUP)
    assert process.returncode == 129, stderr
    assert "stopped by SIGHUP" in stderr
    assert "report:" in stdout
    assert set(fake.stats().confirm_calls) <= {line["username"] for line in complete_lines(report)}


def test_calls_that_hang_are_abandoned_after_the_grace(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """An endpoint that stops answering: the calls in flight are abandoned after --grace, the
    results so far are written and the summary printed (the calls hang for an hour: only the
    grace can end them within the process timeout)."""
    fake.add_users(NAMES)
    report = tmp_path / "report.jsonl"
    path = users_file(tmp_path, NAMES)
    process = start(fake, report, env, "--rate", "50", "--grace", "1", "--input", path)
    wait_until(lambda: len(complete_lines(report)) >= 5, process)
    fake.configure(latency=3600.0)  # every call from now on hangs
    held = confirm_calls(fake)
    wait_until(lambda: confirm_calls(fake) > held, process)
    stdout, stderr, _seconds = stop(process, signal.SIGTERM)
    assert process.returncode == 143, stderr
    assert "report:" in stdout
    assert "abandoning the calls still in flight" in stderr
    assert len(complete_lines(report)) >= 5


@pytest.mark.parametrize(
    ("how", "code"),
    [("SIGINT", 130), ("SIGTERM", 143), ("unknown pool", 2)],
)
def test_an_open_stdin_never_aborts_the_interpreter(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path, how: str, code: int
) -> None:
    """Issue 11 case 3: --input - from a pipe still open, then an early exit, was "Fatal Python
    error: _enter_buffered_busy" and exit 134; now the exit code of the way it stopped."""
    fake.add_users(["alice"])
    report = tmp_path / "report.jsonl"
    read_end, write_end = os.pipe()
    args = ["--input", "-"]
    pool = fake if how != "unknown pool" else None
    try:
        if pool is None:
            args += ["--user-pool-id", "us-east-1_Unknown1"]  # the last one given wins
        process = start(fake, report, env, *args, stdin=read_end)
        os.close(read_end)
        os.write(write_end, b"alice\n")  # and the pipe stays open
        if how == "unknown pool":
            _stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
        else:
            wait_until(lambda: len(complete_lines(report)) >= 1, process)
            _stdout, stderr, _seconds = stop(process, getattr(signal, how))
    finally:
        os.close(write_end)
    assert process.returncode == code, stderr
    assert "Fatal Python error" not in stderr


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


@pytest.mark.parametrize(
    ("signum", "code", "output"),
    [(signal.SIGTERM, 143, "json"), (signal.SIGINT, 130, "table")],
    ids=["sigterm-json", "sigint-table"],
)
def test_a_signal_during_setup_says_so(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path, signum: int, code: int, output: str
) -> None:
    """#17 case 10: a signal while the setup waits (here for a FIFO's first line) exited 143
    with nothing on stderr and no JSON; now one line, the JSON summary, 128 + the signal."""
    fifo = tmp_path / "users.fifo"
    os.mkfifo(fifo)
    report = tmp_path / "report.jsonl"
    process = start(fake, report, env, "--input", str(fifo), "--output", output)
    # Opening the FIFO returns once the process has opened it too: its setup is under way.
    with fifo.open("wb"):
        stdout, stderr, _seconds = stop(process, signum)
    assert process.returncode == code, stderr
    name = signal.Signals(signum).name
    assert stderr.splitlines() == [
        f"cognito-confirm: stopped by {name} before the run started: nothing was sent, "
        "no report written"
    ]
    if output == "json":
        summary = json.loads(stdout)
        assert (summary["stopped_by"], summary["exit_code"]) == (name, code)
    assert not report.exists()
    assert fake.stats().confirm_calls == {}
