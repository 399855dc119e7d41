"""The command line as a user runs it: a real process, killed, interrupted, fed bad input.

A process costs a second of CPU (the imports, under coverage): only what a real interpreter
shows runs in one (kill -9, a signal, an open pipe, the exit at the end); the run that resumes
after a kill, and the input and setup errors, run in-process (click's CliRunner).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito, FakeStats
from tests.helpers import (
    PROCESS_TIMEOUT,
    command,
    complete_lines,
    confirm_args,
    users_file,
    wait_for,
    wait_until,
)

CONCURRENCY = 8


def confirm_command(fake: FakeCognito, report: Path, *args: str) -> list[str]:
    return command(*confirm_args(fake, report, "--concurrency", str(CONCURRENCY), *args))


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def confirm_in_process(fake: FakeCognito, report: Path, *args: str) -> Result:
    """The same command line as ``confirm_command``, run in this process."""
    arguments = confirm_args(fake, report, "--concurrency", str(CONCURRENCY), *args)
    return CliRunner().invoke(cli, arguments, catch_exceptions=False)


def test_kill_9_then_resume_sends_only_what_was_in_flight(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL part-way, then --resume: all confirmed, none twice, only in-flight calls resent
    (the resumed run in-process: what it reads is what the killed process left)."""
    names = [f"user{n:03d}" for n in range(200)]
    fake.add_users(names)
    fake.configure(latency=0.1)  # with no rate limit, all 8 slots stay busy: 80 users/s
    report, path = tmp_path / "report.jsonl", users_file(tmp_path, names)
    first = start(confirm_command(fake, report, "--rate", "1000", "--input", path), env)
    try:
        wait_until(lambda: len(complete_lines(report)) >= 20, first)
    finally:
        first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL
    # The fake still carries out the calls the killed process had sent (after their latency,
    # as Cognito would): count them in the first run, not in neither.
    run1 = settled_stats(fake)
    reported = {line["username"] for line in complete_lines(report)}
    lost_in_flight = set(run1.confirm_calls) - reported
    assert len(lost_in_flight) <= CONCURRENCY + 2

    fake.reset_stats()
    fake.configure(latency=0.01)
    # The resumed run is the command line in this process: the kill was the first run's.
    second = confirm_in_process(fake, report, "--resume", "--rate", "1000", "--input", path)
    assert second.exit_code == 0, second.output
    run2 = fake.stats()
    assert set(run2.confirm_calls) == set(names) - reported
    assert sum(run2.confirm_calls.values()) == len(names) - len(reported)
    assert set(run2.already_confirmed) <= lost_in_flight
    assert all(fake.user_status(name) == "CONFIRMED" for name in names)
    both_runs = [run1.confirmations.get(n, 0) + run2.confirmations.get(n, 0) for n in names]
    assert set(both_runs) == {1}
    last = {line["username"]: line["outcome"] for line in complete_lines(report)}
    assert set(last) == set(names)
    assert "failed" not in last.values()
    print(  # the numbers quoted in the project's notes (pytest -s shows them)
        f"\nkill -9: {len(names)} users, {len(reported)} report lines after run 1, "
        f"{len(lost_in_flight)} in flight lost, {sum(run2.confirm_calls.values())} calls in run 2"
    )


def test_sigint_stops_cleanly_with_every_result_written(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C: the calls in flight finish and are written, the summary shows, exit 130.

    The usernames come on standard input from a pipe left open (issue 11 case 3: an exit with
    the thread reading such a pipe blocked in a read was "Fatal Python error:
    _enter_buffered_busy", exit 134). SIGTERM, with a call in flight and the rest waiting for
    the pace, and SIGHUP, with the pipe silent: test_signals."""
    names = [f"user{n:03d}" for n in range(300)]
    fake.add_users(names)
    fake.configure(latency=0.1)  # with no rate limit, all 8 slots stay busy: 80 users/s
    report = tmp_path / "report.jsonl"
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            confirm_command(fake, report, "--rate", "1000", "--input", "-"),
            env=env,
            stdin=read_end,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.close(read_end)
        os.write(write_end, "".join(f"{name}\n" for name in names).encode())  # 2.4 KB: no block
        try:
            wait_until(lambda: len(complete_lines(report)) >= 20, process)
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
        finally:
            process.kill()
    finally:
        os.close(write_end)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Fatal Python error" not in stderr
    assert "stopped by SIGINT" in stderr
    assert "report:" in stdout
    text = report.read_text()
    assert text.endswith("\n")
    written = {line["username"] for line in map(json.loads, text.splitlines())}
    assert set(fake.stats().confirm_calls) <= written  # no user that was sent is missing
    assert len(written) < len(names)


def test_bad_input_lines_are_each_accounted_for(fake: FakeCognito, tmp_path: Path) -> None:
    """BOM, blank lines, duplicates, 129 characters, a control character: one line each, exit 1
    (in-process: nothing here needs an interpreter of its own)."""
    fake.add_users(["alice", "bob"])
    lines = ["alice", "", "  bob  ", "alice", "x" * 129, "ctrl\x01char", "in side", "   ", "ghost"]
    path = tmp_path / "users.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    report = tmp_path / "report.jsonl"
    result = confirm_in_process(fake, report, "--input", str(path))
    assert result.exit_code == 1, result.output
    assert result.stderr == ""
    outcomes = sorted((line["index"], line["outcome"]) for line in complete_lines(report))
    assert outcomes == [
        (0, "confirmed"),
        (1, "confirmed"),
        (2, "duplicate"),
        (3, "invalid"),
        (4, "invalid"),
        (5, "invalid"),
        (6, "not_found"),
    ]
    assert len(outcomes) == sum(1 for line in lines if line.strip())
    assert "alice" not in result.stdout


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("missing column", "no 'username' column"),
        ("malformed pool id", "malformed user pool id"),
        ("unknown pool", "ResourceNotFoundException"),
    ],
)
def test_setup_errors_are_one_line_without_traceback(
    fake: FakeCognito, tmp_path: Path, case: str, fragment: str
) -> None:
    """A missing CSV column, a malformed or an unknown pool id: exit 2, one line on stderr
    (in-process: a traceback would be the exception itself; test_signals has the unknown pool
    in a real interpreter, whose exit could print more)."""
    fake.add_users(["alice"])
    csv_path = tmp_path / "users.csv"
    csv_path.write_text("id,email\n1,alice@example.com\n")
    pool = {"malformed pool id": "no-underscore", "unknown pool": "us-east-1_Unknown1"}
    args = ["--column", "username"] if case == "missing column" else []
    result = CliRunner().invoke(
        cli,
        [
            "confirm",
            "--user-pool-id",
            pool.get(case, fake.user_pool_id),
            "--endpoint-url",
            fake.endpoint_url,
            "--input",
            str(csv_path) if args else users_file(tmp_path, ["alice"]),
            "--report",
            str(tmp_path / "report.jsonl"),
            *args,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert "alice" not in result.stderr + result.stdout
    assert fake.user_status("alice") == "UNCONFIRMED"


def last_outcomes(report: Path) -> dict[str, str]:
    """Each user's last outcome in the report (duplicate and skipped lines say nothing)."""
    last: dict[str, str] = {}
    for line in complete_lines(report):
        if line["outcome"] not in ("duplicate", "skipped"):
            last[line["username"]] = line["outcome"]
    return last


DONE = frozenset({"confirmed", "already_confirmed"})


def lines_reach(report: Path, more: int) -> Callable[[], bool]:
    """Whether the report has ``more`` complete lines than it has now."""
    target = len(complete_lines(report)) + more
    return lambda: len(complete_lines(report)) >= target


def settled_stats(fake: FakeCognito) -> FakeStats:
    """The fake's counters once it has handled what a killed client left in its sockets: no
    call in flight (each waits out the fake's latency), then none read for 0.1 s."""
    wait_for(lambda: fake.confirmations_in_flight() == 0)
    stats = fake.stats()
    while True:
        time.sleep(0.1)
        again = fake.stats()
        if again == stats:
            return stats
        stats = again


def test_kill_9_and_resume_in_a_loop_with_drops_and_5xx(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 11 case 6: four SIGKILLs at random points, each followed by --resume, against an
    endpoint that drops 5% of the calls and answers 5% with HTTP 500. In the end every user's
    last line is confirmed or already_confirmed, and nobody was confirmed twice: a user with
    such a line is never sent again, and Cognito answers already_confirmed only to a user sent
    before (its line lost with a killed run, or its answer lost with a dropped connection).
    The last run, never killed, is the command line in-process."""
    names = [f"user{n:03d}" for n in range(300)]
    fake.add_users(names)
    fake.configure(latency=0.01, drop_rate=0.05, error_rate=0.05)
    report, path = tmp_path / "report.jsonl", users_file(tmp_path, names)
    rng = random.Random(11)
    kills = resent = 0
    sent: set[str] = set()  # by the runs before this one
    for cycle in range(5):
        done = {name for name, outcome in last_outcomes(report).items() if outcome in DONE}
        fake.reset_stats()
        resume = ["--resume"] if cycle else []
        args = [*resume, "--rate", "1000", "--input", path]
        if cycle < 4:
            process = start(confirm_command(fake, report, *args), env)
            wait_until(lines_reach(report, rng.randint(20, 60)), process, may_exit=True)
            process.kill()
            process.communicate(timeout=PROCESS_TIMEOUT)
            kills += process.returncode == -signal.SIGKILL
        else:
            last_run = confirm_in_process(fake, report, *args)
        stats = settled_stats(fake)
        assert not done & set(stats.confirm_calls), "a user already done was sent again"
        retried = {name for name, calls in stats.confirm_calls.items() if calls > 1}
        assert set(stats.already_confirmed) <= sent | retried, "already confirmed by whom?"
        assert max(stats.confirmations.values(), default=0) <= 1
        resent += sum(stats.already_confirmed.values())
        sent |= set(stats.confirm_calls)
    assert last_run.exit_code == 0, last_run.output
    assert kills >= 3
    last = last_outcomes(report)
    assert set(last) == set(names)
    assert set(last.values()) <= DONE
    assert fake.status_counts() == {"CONFIRMED": len(names)}
    print(f"\nkill -9 loop: {kills} kills, {resent} already_confirmed answers (re-sends)")
