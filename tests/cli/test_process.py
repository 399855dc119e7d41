"""The command line as a user runs it: a real process, killed, interrupted, fed bad input."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cognito_confirm.testing import FakeCognito, FakeStats
from tests.helpers import (
    PROCESS_TIMEOUT,
    command,
    complete_lines,
    confirm_args,
    users_file,
    wait_until,
)

CONCURRENCY = 8


def confirm_command(fake: FakeCognito, report: Path, *args: str) -> list[str]:
    return command(*confirm_args(fake, report, "--concurrency", str(CONCURRENCY), *args))


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT, check=False
    )


def test_kill_9_then_resume_sends_only_what_was_in_flight(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL part-way, then --resume: all confirmed, none twice, only in-flight calls resent."""
    names = [f"user{n:03d}" for n in range(200)]
    fake.add_users(names)
    fake.configure(latency=0.1)  # with no rate limit, all 8 slots stay busy: 80 users/s
    report, path = tmp_path / "report.jsonl", users_file(tmp_path, names)
    first = start(confirm_command(fake, report, "--rate", "1000", "--input", path), env)
    try:
        wait_until(lambda: len(complete_lines(report)) >= 40, first)
    finally:
        first.kill()
        first.communicate()
    assert first.returncode == -signal.SIGKILL
    run1 = fake.stats()
    reported = {line["username"] for line in complete_lines(report)}
    lost_in_flight = set(run1.confirm_calls) - reported
    assert len(lost_in_flight) <= CONCURRENCY + 2

    fake.reset_stats()
    fake.configure(latency=0.01)
    second = run(confirm_command(fake, report, "--resume", "--rate", "1000", "--input", path), env)
    assert second.returncode == 0, second.stderr
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


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_with_every_result_written(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path, signum: int, code: int
) -> None:
    """Ctrl-C / SIGTERM: in-flight calls finish and are written, the summary shows, 130 / 143."""
    names = [f"user{n:03d}" for n in range(300)]
    fake.add_users(names)
    fake.configure(latency=0.05)
    report = tmp_path / "report.jsonl"
    process = start(confirm_command(fake, report, "--input", users_file(tmp_path, names)), env)
    try:
        wait_until(lambda: len(complete_lines(report)) >= 20, process)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    assert "report:" in stdout
    text = report.read_text()
    assert text.endswith("\n")
    written = {line["username"] for line in map(json.loads, text.splitlines())}
    assert set(fake.stats().confirm_calls) <= written  # no user that was sent is missing
    assert len(written) < len(names)


def test_bad_input_lines_are_each_accounted_for(
    fake: FakeCognito, env: dict[str, str], tmp_path: Path
) -> None:
    """BOM, blank lines, duplicates, 129 characters, a control character: one line each, exit 1."""
    fake.add_users(["alice", "bob"])
    lines = ["alice", "", "  bob  ", "alice", "x" * 129, "ctrl\x01char", "in side", "   ", "ghost"]
    path = tmp_path / "users.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    report = tmp_path / "report.jsonl"
    result = run(confirm_command(fake, report, "--input", str(path)), env)
    assert result.returncode == 1, result.stderr
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
    fake: FakeCognito, env: dict[str, str], tmp_path: Path, case: str, fragment: str
) -> None:
    """A missing CSV column, a malformed or an unknown pool id: exit 2, one line on stderr."""
    fake.add_users(["alice"])
    csv_path = tmp_path / "users.csv"
    csv_path.write_text("id,email\n1,alice@example.com\n")
    pool = {"malformed pool id": "no-underscore", "unknown pool": "us-east-1_Unknown1"}
    args = ["--column", "username"] if case == "missing column" else []
    result = run(
        command(
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
        ),
        env,
    )
    assert result.returncode == 2, result.stderr
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
    """The fake's counters once it has handled what a killed client left in its sockets."""
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
    before (its line lost with a killed run, or its answer lost with a dropped connection)."""
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
        process = start(
            confirm_command(fake, report, *resume, "--rate", "1000", "--input", path), env
        )
        if cycle < 4:
            wait_until(lines_reach(report, rng.randint(20, 60)), process, may_exit=True)
            process.kill()
        _stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
        stats = settled_stats(fake)
        assert not done & set(stats.confirm_calls), "a user already done was sent again"
        retried = {name for name, calls in stats.confirm_calls.items() if calls > 1}
        assert set(stats.already_confirmed) <= sent | retried, "already confirmed by whom?"
        assert max(stats.confirmations.values(), default=0) <= 1
        resent += sum(stats.already_confirmed.values())
        kills += process.returncode == -signal.SIGKILL
        sent |= set(stats.confirm_calls)
    assert process.returncode == 0, stderr
    assert kills >= 3
    last = last_outcomes(report)
    assert set(last) == set(names)
    assert set(last.values()) <= DONE
    assert fake.status_counts() == {"CONFIRMED": len(names)}
    print(f"\nkill -9 loop: {kills} kills, {resent} already_confirmed answers (re-sends)")
