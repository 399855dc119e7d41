"""--output json, -v / --debug, the timeouts and shell completion: the CLI habits of issue 12."""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession
from click.testing import CliRunner, Result

from cognito_confirm.cli.commands import cli
from cognito_confirm.cli.logs import logging_to_stderr, route
from cognito_confirm.testing import FakeCognito
from tests.helpers import PROCESS_TIMEOUT, confirm_args, process_env, users_file

BASH = shutil.which("bash") or "/bin/bash"
NAMES = ["alice.private", "bob.private", "carol.private"]
RUN_KEYS = {
    "whole_report",
    "user_pool_id",
    "dry_run",
    "exit_code",
    "error",
    "users",
    "sent",
    "outcomes",
    "emails_verified",
    "emails_not_verified",
    "elapsed",
    "rate",
    "report",
    "stopped_by",
}


def confirm(fake: FakeCognito, report: Path, *args: str, **env: str) -> Result:
    arguments = confirm_args(fake, report, "--rate", "1000", *args)
    return CliRunner().invoke(cli, arguments, catch_exceptions=False, env=env)


def mixed_input(fake: FakeCognito, tmp_path: Path) -> str:
    """Three users, one unknown, one invalid, one duplicate: exit 1."""
    fake.add_users(NAMES)
    return users_file(tmp_path, [*NAMES, "ghost.private", "in valid", NAMES[0]])


def summary_of(result: Result) -> dict[str, Any]:
    """The one JSON object on stdout, on one line."""
    (line,) = result.stdout.splitlines()
    summary: dict[str, Any] = json.loads(line)
    assert summary["exit_code"] == result.exit_code
    return summary


# --- --output json -------------------------------------------------------------------------


def test_json_summary_counts_every_outcome(fake: FakeCognito, tmp_path: Path) -> None:
    """One object on stdout: counts by outcome, users sent, rate, report path, exit code."""
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", mixed_input(fake, tmp_path), "--output", "json")
    assert result.exit_code == 1, result.output
    summary = summary_of(result)
    assert set(summary) == RUN_KEYS
    assert summary["outcomes"] == {
        "confirmed": 3,
        "already_confirmed": 0,
        "not_found": 1,
        "not_confirmable": 0,
        "invalid": 1,
        "duplicate": 1,
        "skipped": 0,
        "failed": 0,
    }
    assert (summary["users"], summary["sent"]) == (6, 4)
    assert summary["report"] == str(report)
    assert summary["dry_run"] is False
    assert summary["error"] is None
    assert summary["stopped_by"] is None
    assert summary["whole_report"] is None  # a new report: "outcomes" is the whole story
    assert summary["emails_verified"] is None
    assert summary["elapsed"] > 0
    assert summary["rate"] > 0
    assert summary["user_pool_id"] == fake.user_pool_id
    assert "users in" not in result.stdout  # no table
    for name in NAMES:
        assert name not in result.stdout


def test_json_dry_run_counts_the_input(fake: FakeCognito, tmp_path: Path) -> None:
    """--dry-run --output json: the pool and what would happen to each input item."""
    report = tmp_path / "report.jsonl"
    path = mixed_input(fake, tmp_path)
    result = confirm(fake, report, "--input", path, "--dry-run", "--output", "json")
    assert result.exit_code == 1, result.output
    summary = summary_of(result)
    assert summary["dry_run"] is True
    assert summary["input"] == {
        "to_send": 4,
        "invalid": 1,
        "duplicate": 1,
        "skipped": 0,
        "total": 6,
    }
    assert summary["pool_name"]
    assert fake.stats().confirm_calls == {}
    assert not report.exists()


def test_json_setup_error_is_still_one_object(fake: FakeCognito, tmp_path: Path) -> None:
    """An unknown pool found by the dry run: exit 2, the error line on stderr and in the JSON."""
    args = ["--user-pool-id", "us-east-1_Elsewhere", "--dry-run", "--output", "json"]
    arguments = confirm_args(fake, tmp_path / "r.jsonl", "--input", users_file(tmp_path, NAMES))
    result = CliRunner().invoke(cli, [*arguments, *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    summary = summary_of(result)
    assert set(summary) == {"user_pool_id", "dry_run", "exit_code", "error"}
    assert "ResourceNotFoundException" in summary["error"]
    assert summary["error"] in result.stderr


def test_json_with_nothing_to_confirm_has_no_report(fake: FakeCognito, tmp_path: Path) -> None:
    """An empty input: exit 0, no report kept (null), zero counts."""
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", users_file(tmp_path, []), "--output", "json")
    assert result.exit_code == 0, result.output
    summary = summary_of(result)
    assert (summary["users"], summary["report"]) == (0, None)
    assert "no usernames to confirm" in result.stderr


# --- -v and --debug ------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-v", "--verbose", "--debug"])
def test_verbose_shows_the_library_log_on_stderr(
    fake: FakeCognito, tmp_path: Path, flag: str
) -> None:
    """-v: the library's INFO lines, no username; --debug: one line per user too."""
    fake.add_users(NAMES)
    result = confirm(fake, tmp_path / "r.jsonl", "--input", users_file(tmp_path, NAMES), flag)
    assert result.exit_code == 0, result.output
    assert "INFO cognito_confirm: confirmer open: user pool" in result.stderr
    assert "INFO cognito_confirm: bulk run starting: concurrency" in result.stderr
    assert "INFO cognito_confirm: bulk run over: 3 input items read" in result.stderr
    per_user = [line for line in result.stderr.splitlines() if "DEBUG" in line]
    if flag == "--debug":
        assert {name for name in NAMES if any(name in line for line in per_user)} == set(NAMES)
    else:
        assert per_user == []
        assert not [name for name in NAMES if name in result.stderr]
    assert "botocore" not in result.stderr
    assert logging.getLogger("cognito_confirm").handlers == []  # restored afterwards


def test_debug_on_a_rerun_names_every_user_whatever_the_outcome(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """--debug over confirmed, unknown, duplicate and invalid names: one DEBUG line for each."""
    fake.add_users(NAMES, status="CONFIRMED")
    lines = [*NAMES, "nobody", NAMES[0], "has space"]
    result = confirm(fake, tmp_path / "r.jsonl", "--input", users_file(tmp_path, lines), "--debug")
    per_user = [line for line in result.stderr.splitlines() if " DEBUG cognito_confirm: " in line]
    said = [line.partition("DEBUG cognito_confirm: ")[2] for line in per_user]
    expected = [f"already_confirmed {name}" for name in NAMES]
    expected += ["not_found nobody", f"duplicate {NAMES[0]}", "invalid has space"]
    assert sorted(said) == sorted(expected), result.stderr


def test_without_a_flag_the_library_log_stays_off(fake: FakeCognito, tmp_path: Path) -> None:
    """No -v: stderr holds no log line."""
    fake.add_users(NAMES)
    result = confirm(fake, tmp_path / "r.jsonl", "--input", users_file(tmp_path, NAMES))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


# --- --connect-timeout and --read-timeout, and every bad value --------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [((), (10.0, 30.0)), (("--connect-timeout", "2.5", "--read-timeout", "7"), (2.5, 7.0))],
)
def test_timeouts_reach_the_client(
    fake: FakeCognito,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    expected: tuple[float, float],
) -> None:
    """The timeouts (default 10 s and 30 s) are the cognito-idp client's botocore config."""
    seen: list[tuple[float, float]] = []
    create_client = AioSession.create_client

    def recording(self: AioSession, *a: Any, **kwargs: Any) -> Any:
        config = kwargs["config"]
        seen.append((config.connect_timeout, config.read_timeout))
        return create_client(self, *a, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", recording)
    fake.add_users(NAMES)
    path = users_file(tmp_path, NAMES)
    result = confirm(fake, tmp_path / "r.jsonl", "--input", path, *args)
    assert result.exit_code == 0, result.output
    assert seen == [expected]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--connect-timeout", "0"),
        ("--connect-timeout", "-1"),
        ("--connect-timeout", "nan"),
        ("--connect-timeout", "inf"),
        ("--read-timeout", "soon"),
        ("--read-timeout", "86401"),
        ("--output", "xml"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(
    fake: FakeCognito, tmp_path: Path, option: str, value: str
) -> None:
    """Each bad value: one line naming the option, exit 2, nothing sent, no output on stdout."""
    fake.add_users(NAMES)
    path = users_file(tmp_path, NAMES)
    result = confirm(fake, tmp_path / "r.jsonl", "--input", path, option, value)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("cognito-confirm: error: ")
    assert option in line
    assert result.stdout == ""
    assert fake.stats().confirm_calls == {}


# --- shell completion ------------------------------------------------------------------------


def test_shell_completion_script_and_completions() -> None:
    """_COGNITO_CONFIRM_COMPLETE=bash_source prints the script; bash_complete completes."""
    runner = CliRunner()
    script = runner.invoke(
        cli, [], prog_name="cognito-confirm", env={"_COGNITO_CONFIRM_COMPLETE": "bash_source"}
    )
    assert script.exit_code == 0
    assert "_cognito_confirm_completion" in script.stdout
    completed = runner.invoke(
        cli,
        [],
        prog_name="cognito-confirm",
        env={
            "_COGNITO_CONFIRM_COMPLETE": "bash_complete",
            "COMP_WORDS": "cognito-confirm confirm --outp",
            "COMP_CWORD": "2",
        },
    )
    assert completed.stdout.splitlines() == ["plain,--output"]


# --- as a user runs it: a process, in a pipeline -----------------------------------------------


def test_json_pipes_into_a_json_reader_while_debug_logs_on_stderr(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """`cognito-confirm confirm ... --output json --debug | python -c 'json.load(sys.stdin)'`
    works: the installed script's stdout holds the JSON alone while --debug prints the library's
    INFO and per-user lines on stderr. (What -v and --debug each show, and -v no name, is
    asserted in-process above: a process adds only the real pipe and the real stderr.)"""
    script = Path(sys.executable).parent / "cognito-confirm"
    reader = "import json,sys; print(json.load(sys.stdin)['outcomes']['confirmed'])"
    names = [f"debug.{name}" for name in NAMES]
    fake.add_users(names)
    args = confirm_args(fake, tmp_path / "report.jsonl", "--input", users_file(tmp_path, names))
    confirm_line = shlex.join([str(script), *args, "--output", "json", "--debug"])
    # -S: the reader needs no site-packages (nor the coverage hook they hold).
    pipeline = f"{confirm_line} | {shlex.join([sys.executable, '-S', '-c', reader])}"
    done = subprocess.run(
        [BASH, "-o", "pipefail", "-c", pipeline],
        env=process_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "3\n"
    assert "INFO cognito_confirm: bulk run starting" in done.stderr
    assert all(f"cognito_confirm: confirmed {name}" in done.stderr for name in names)
    assert "botocore" not in done.stderr


def test_log_lines_go_above_the_progress_bar() -> None:
    """While the bar is on screen the log lines go through its console, then to stderr again."""
    routed: list[str] = []
    logger = logging.getLogger("cognito_confirm")
    with logging_to_stderr(logging.INFO), route(routed.append):
        logger.info("bulk run starting: concurrency %d", 4)
        logger.debug("confirmed %s", NAMES[0])
    assert len(routed) == 1
    assert routed[0].endswith("INFO cognito_confirm: bulk run starting: concurrency 4")
    assert logger.handlers == []
