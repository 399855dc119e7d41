"""The command line in-process (click's CliRunner): exit codes, report, dry run, email, demo."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from cognito_confirm import AccessDeniedError, CognitoConfirmer, ConfirmResult, Outcome
from cognito_confirm import cli as cli_package
from cognito_confirm._peers import USER_UPDATE, Census, census_directory
from cognito_confirm.cli import commands, demo, display
from cognito_confirm.cli.commands import cli
from cognito_confirm.cli.display import NoProgress, ProgressBar, make_display
from cognito_confirm.cli.inputs import IterableSource
from cognito_confirm.cli.report import EmailCheck, ReportError, ReportWriter, report_record
from cognito_confirm.cli.run import BulkRun, RunSettings
from cognito_confirm.cli.tally import Tally
from cognito_confirm.cli.userpool import EmailVerifier
from cognito_confirm.testing import FakeCognito
from tests.helpers import MotoPool, confirm_args, serve_cli_in_process, users_file
from tests.virtual_time import local_client, virtual_time

TIMEOUT = 60.0


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return tmp_path / "report.jsonl"


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeCognito) -> None:
    """The command line on virtual time, answered by ``fake`` in-process: what a test marked
    so checks is the command's, not the transport's (``serve_cli_in_process``)."""
    serve_cli_in_process(monkeypatch, fake)


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def confirm(fake: FakeCognito, report: Path, *args: str, stdin: str | None = None) -> Result:
    return run(*confirm_args(fake, report, "--rate", "1000", *args), stdin=stdin)


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def table_counts(stdout: str) -> dict[str, int]:
    """The label -> count rows of a printed summary or dry-run table."""
    rows = (line.rsplit(None, 1) for line in stdout.splitlines())
    return {row[0].strip(): int(row[1]) for row in rows if len(row) == 2 and row[1].isdigit()}


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cognito-confirm")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_confirms_every_user_and_exits_0(fake: FakeCognito, report: Path, tmp_path: Path) -> None:
    """All users confirmed: exit 0, one report line each, mode 0600, quiet stderr (no tty)."""
    names = [f"user{n}" for n in range(20)]
    fake.add_users(names)
    fake.add_user("done-before", "CONFIRMED")
    result = confirm(fake, report, "--input", users_file(tmp_path, [*names, "done-before"]))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # not a terminal: no progress bar
    lines = read_report(report)
    assert sorted(line["username"] for line in lines) == sorted([*names, "done-before"])
    assert {line["outcome"] for line in lines} == {"confirmed", "already_confirmed"}
    assert all(line["user_pool_id"] == fake.user_pool_id for line in lines)
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert f"report: {report}" in result.stdout
    assert table_counts(result.stdout) == {"confirmed": 20, "already_confirmed": 1}
    assert not any(name in result.output for name in names)
    assert fake.status_counts() == {"CONFIRMED": 21}


@pytest.mark.usefixtures("in_process")
def test_bad_input_is_reported_line_by_line_and_exits_1(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """Unknown, invalid and duplicate names each get their line and outcome; exit 1."""
    fake.add_users(["alice", "FORCED"])
    fake.add_user("forced", "FORCE_CHANGE_PASSWORD")
    lines = ["alice", "ghost", "two words", "x" * 129, "bell\x07", "alice", "forced"]
    result = confirm(fake, report, "--input", users_file(tmp_path, ["", *lines, "   "]))
    assert result.exit_code == 1, result.output
    outcomes = {(line["index"], line["outcome"]) for line in read_report(report)}
    assert outcomes == {
        (0, "confirmed"),
        (1, "not_found"),
        (2, "invalid"),
        (3, "invalid"),
        (4, "invalid"),
        (5, "duplicate"),
        (6, "not_confirmable"),
    }
    for label in ("not_found", "invalid", "duplicate", "not_confirmable"):
        assert label in result.stdout
    assert "ghost" not in result.output


@pytest.mark.usefixtures("in_process")
def test_reads_standard_input_and_csv_columns(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """--input - reads stdin; a CSV is read by its --column."""
    fake.add_users(["a", "b", "c"])
    assert confirm(fake, report, "--input", "-", stdin="a\n\nb\n").exit_code == 0
    csv_path = users_file(tmp_path, ["id,username", "1,c", "2,a"], name="users.csv")
    second = tmp_path / "second.jsonl"
    assert confirm(fake, second, "--input", csv_path, "--column", "username").exit_code == 0
    assert [line["outcome"] for line in read_report(second)] == ["confirmed", "already_confirmed"]
    assert fake.status_counts() == {"CONFIRMED": 3}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--user-pool-id", "not a pool", "--input", "-"], ["malformed user pool id"]),
        (["--user-pool-id", "us-east-1_P", "--input", "/nonexistent/u.txt"], ["cannot read"]),
        (["--user-pool-id", "us-east-1_P"], ["exactly one of"]),
        (["--user-pool-id", "us-east-1_P", "--input", "-", "--from-pool"], ["exactly one of"]),
        (["--user-pool-id", "us-east-1_P", "--from-pool", "--column", "x"], ["--column"]),
        (["--user-pool-id", "us-east-1_P", "--input", "u.CSV"], ["--column NAME"]),
        (["--user-pool-id", "us-east-1_P", "--input", "-", "--resume"], ["--resume needs"]),
        (["--user-pool-id", "us-east-1_P", "--input", "-", "--concurrency", "0"], ["0"]),
        (["--user-pool-id", "us-east-1_P", "--input", "-", "--rate", "0"], ["--rate"]),
        (
            ["--user-pool-id", "us-east-1_P", "--input", "-", "--rate", "0.1"],
            ["--rate", "below 0.5 calls per second", "not honoured"],
        ),
        (
            ["--user-pool-id", "us-east-1_P", "--input", "-", "--client-metadata", "s3cret"],
            ["KEY=VALUE"],
        ),
        (["--input", "-"], ["Missing option '--user-pool-id'", "--help"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    """Bad options, a missing file or a malformed pool id: one line on stderr, exit 2."""
    result = run("confirm", *args, stdin="alice\n")
    assert_one_line_error(result, *fragments)
    assert "s3cret" not in result.output
    assert "alice" not in result.output


@pytest.mark.usefixtures("in_process")
def test_missing_csv_column_fails_before_anything_is_sent(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """A CSV without the column: one line, exit 2, no call, no report left behind."""
    fake.add_users(["alice"])
    path = users_file(tmp_path, ["id,email", "1,alice"], name="users.csv")
    result = confirm(fake, report, "--input", path, "--column", "username")
    assert_one_line_error(result, "no 'username' column")
    assert fake.stats().requests == {}
    assert not report.exists()


@pytest.mark.usefixtures("in_process")
def test_unknown_pool_is_one_line_and_leaves_no_report(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """A pool that does not exist: exit 2 with Cognito's one-line reason, no empty report."""
    result = run(
        "confirm",
        "--user-pool-id",
        "us-east-1_Unknown1",
        "--endpoint-url",
        fake.endpoint_url,
        "--report",
        str(report),
        "--input",
        users_file(tmp_path, ["a", "b", "c"]),
    )
    assert_one_line_error(result, "ResourceNotFoundException")
    assert not report.exists()


def test_access_denied_is_a_setup_error(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials that may not call AdminConfirmSignUp: exit 2, one error line (after the
    note that DescribeUserPool was denied too, so case is not folded)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "denied")
    fake.add_users(["a"])
    result = confirm(fake, report, "--input", users_file(tmp_path, ["a"]))
    assert result.exit_code == 2, result.output
    note, error = result.stderr.splitlines()
    assert "could not read the pool's username settings" in note
    assert "AccessDeniedException" in error
    assert "Traceback" not in result.output


def test_existing_report_is_refused_without_resume(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """An existing report is not mixed with a new run: exit 2, the file untouched."""
    report.write_text("earlier run\n")
    result = confirm(fake, report, "--input", users_file(tmp_path, ["a"]))
    assert_one_line_error(result, "already exists", "--resume")
    assert report.read_text() == "earlier run\n"
    assert fake.stats().requests == {}


@pytest.mark.usefixtures("in_process")
def test_setup_error_mid_run_keeps_the_results_so_far(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """A pool that vanishes mid-run: the results delivered are written, then exit 2."""
    fake.add_users(["a", "b", "c", "d"])
    fake.fail("c", "ResourceNotFoundException")
    result = confirm(fake, report, "--concurrency", "1", "--input", users_file(tmp_path, "abcd"))
    assert_one_line_error(result, "ResourceNotFoundException")
    assert [line["username"] for line in read_report(report)] == ["a", "b"]
    assert "report:" in result.stdout
    assert fake.user_status("d") == "UNCONFIRMED"


@pytest.mark.usefixtures("in_process")
def test_dry_run_sends_nothing_and_prints_counts(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """--dry-run checks the pool and counts the input, with no AdminConfirmSignUp, no report."""
    fake.add_users(["a", "b"])
    path = users_file(tmp_path, ["a", "b", "a", "bad name"])
    result = confirm(fake, report, "--dry-run", "--input", path)
    assert result.exit_code == 1, result.output  # an invalid item means the real run exits 1
    assert fake.stats().requests == {"DescribeUserPool": 1}
    assert not report.exists()
    assert "nothing was sent" in result.stdout
    assert "bad name" not in result.stdout
    assert table_counts(result.stdout) == {
        "to send": 2,
        "invalid": 1,
        "duplicates": 1,
        "skipped (done before)": 0,
        "total": 4,
    }
    clean = confirm(fake, report, "--dry-run", "--input", users_file(tmp_path, ["a"], "ok.txt"))
    assert clean.exit_code == 0, clean.output


@pytest.mark.usefixtures("in_process")
def test_dry_run_from_pool_and_unknown_pool(fake: FakeCognito, report: Path) -> None:
    """--dry-run --from-pool lists without confirming; an unknown pool is one line, exit 2."""
    fake.add_users(["a", "b", "c"])
    result = confirm(fake, report, "--dry-run", "--from-pool")
    assert result.exit_code == 0, result.output
    assert fake.status_counts() == {"UNCONFIRMED": 3}
    assert "AdminConfirmSignUp" not in fake.stats().requests
    unknown = run(
        "confirm",
        "--user-pool-id",
        "us-east-1_Unknown1",
        "--endpoint-url",
        fake.endpoint_url,
        "--dry-run",
        "--from-pool",
    )
    assert_one_line_error(unknown, "ResourceNotFoundException")


@pytest.mark.usefixtures("in_process")
def test_verify_email_marks_confirmed_users(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """--verify-email sets email_verified on confirmed and already confirmed users only."""
    for name in ("a", "b"):
        fake.add_user(name, attributes={"email": f"{name}@example.com"})
    fake.add_user("c", "CONFIRMED", {"email": "c@example.com"})
    path = users_file(tmp_path, ["a", "b", "c", "ghost"])
    result = confirm(fake, report, "--verify-email", "--input", path)
    assert result.exit_code == 1, result.output  # ghost is not found
    assert all(fake.user_attributes(name)["email_verified"] == "true" for name in "abc")
    verified = {line["username"]: line["email_verified"] for line in read_report(report)}
    assert verified == {"a": True, "b": True, "c": True, "ghost": None}
    assert "email verified" in result.stdout
    assert fake.stats().requests["AdminUpdateUserAttributes"] == 3


@pytest.mark.usefixtures("in_process")
def test_verify_email_paces_its_share_of_the_update_quota(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """--verify-email counts itself among the runs on this host that update users in the
    Region (the UserUpdate quota), apart from the confirmations' census, and leaves it."""
    fake.add_users(["a", "b"])
    region = fake.user_pool_id.partition("_")[0]
    updates = census_directory(region, "local://fake-cognito", USER_UPDATE)
    confirms = census_directory(region, "local://fake-cognito")
    assert updates is not None
    assert confirms is not None
    assert updates != confirms
    other = Census.join(updates)  # another process verifying e-mails
    assert other is not None
    try:
        path = users_file(tmp_path, ["a", "b"])
        result = confirm(fake, report, "--verify-email", "--verbose", "--input", path)
        assert result.exit_code == 0, result.output
        assert "processes pacing this quota on this host: 2 (were 1)" in result.stderr
        assert result.stderr.count("processes pacing this quota on this host") == 2  # and back
        assert other.count() == (1, 0)  # the run left
        assert not list(confirms.glob("*.peer"))
    finally:
        other.leave()


@pytest.mark.usefixtures("in_process")
def test_failed_email_check_exits_1_and_is_resent_on_resume(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A confirmed user whose email check failed makes exit 1, and --resume tries it again."""
    fake.add_users(["a"])
    path = users_file(tmp_path, ["a"])

    async def fails(self: EmailVerifier, username: str) -> EmailCheck:
        return EmailCheck(False, "InternalErrorException")

    with monkeypatch.context() as patch:
        patch.setattr(EmailVerifier, "verify", fails)
        first = confirm(fake, report, "--verify-email", "--input", path)
    assert first.exit_code == 1, first.output
    assert read_report(report)[0]["email_error"] == "InternalErrorException"
    second = confirm(fake, report, "--verify-email", "--resume", "--input", path)
    assert second.exit_code == 0, second.output
    assert read_report(report)[-1]["outcome"] == "already_confirmed"
    assert fake.user_attributes("a")["email_verified"] == "true"


@pytest.mark.usefixtures("in_process")
def test_resume_skips_done_users_and_tolerates_a_truncated_line(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """--resume sends only users without a complete line; the cut-off line is replaced, and
    the users skipped get no new line (a resume writes only what it does)."""
    fake.add_users(["c", "d"])
    fake.add_user("a", "CONFIRMED")
    fake.add_user("b", "CONFIRMED")
    earlier = [ConfirmResult(n, Outcome.CONFIRMED) for n in "ab"] + [
        ConfirmResult("d", Outcome.FAILED)
    ]
    lines = [report_record(result, user_pool_id=fake.user_pool_id) for result in earlier]
    report.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"username": "c", "ou')
    result = confirm(fake, report, "--resume", "--input", users_file(tmp_path, "abcd"))
    assert result.exit_code == 0, result.output
    assert dict(fake.stats().confirm_calls) == {"c": 1, "d": 1}
    lines = read_report(report)  # every line parses: the fragment is gone
    assert sorted((line["username"], line["outcome"]) for line in lines[3:]) == [
        ("c", "confirmed"),
        ("d", "confirmed"),
    ]
    assert "skipped (done before)" in result.stdout


@pytest.mark.usefixtures("in_process")
def test_client_metadata_reaches_the_engine_but_is_never_printed(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeated --client-metadata KEY=VALUE becomes the engine's dict; no value is echoed."""
    seen: list[Any] = []
    original = CognitoConfirmer.stream

    def spy(self: CognitoConfirmer, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["client_metadata"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CognitoConfirmer, "stream", spy)
    fake.add_users(["a"])
    path = users_file(tmp_path, ["a"])
    result = confirm(
        fake, report, "--input", path, "--client-metadata", "src=mig", "--client-metadata", "k=v=w"
    )
    assert result.exit_code == 0, result.output
    assert seen == [{"src": "mig", "k": "v=w"}]
    assert "mig" not in result.output
    assert "v=w" not in report.read_text()


@pytest.mark.usefixtures("in_process")
def test_progress_bar_only_on_a_terminal(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a terminal the bar shows on stderr; --no-progress turns it off."""
    monkeypatch.setattr(display, "_stderr_is_terminal", lambda: True)
    fake.add_users(["a", "b"])
    shown = confirm(fake, report, "--input", users_file(tmp_path, ["a", "b"]))
    assert shown.exit_code == 0, shown.output
    assert "confirming" in shown.stderr
    assert "2/2" in shown.stderr
    hidden = confirm(fake, tmp_path / "r2.jsonl", "--no-progress", "--input", "-", stdin="a\n")
    assert hidden.stderr == ""


def test_from_pool_against_moto(moto_pool: MotoPool, report: Path) -> None:
    """--from-pool confirms every UNCONFIRMED user of a moto pool larger than one page."""
    names = [f"m{n:03d}" for n in range(65)]
    moto_pool.sign_up(*names)
    moto_pool.admin_create("forced")
    result = run(
        "confirm",
        "--user-pool-id",
        moto_pool.pool_id,
        "--endpoint-url",
        moto_pool.endpoint_url,
        "--from-pool",
        "--rate",
        "1000",
        "--report",
        str(report),
    )
    assert result.exit_code == 0, result.output
    assert sorted(line["username"] for line in read_report(report)) == names
    assert all(moto_pool.status(name) == "CONFIRMED" for name in names[::8])
    assert moto_pool.status("forced") == "FORCE_CHANGE_PASSWORD"


@pytest.mark.usefixtures("in_process")
def test_default_report_goes_to_the_working_directory(
    fake: FakeCognito, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --report the run writes cognito-confirm-POOL-TIME.jsonl here and says so."""
    monkeypatch.chdir(tmp_path)
    fake.add_users(["a"])
    result = run(
        "confirm",
        "--user-pool-id",
        fake.user_pool_id,
        "--endpoint-url",
        fake.endpoint_url,
        "--input",
        "-",
        stdin="a\n",
    )
    assert result.exit_code == 0, result.output
    (path,) = tmp_path.glob(f"cognito-confirm-{fake.user_pool_id}-*.jsonl")
    assert f"report: {path}" in result.stdout


@pytest.mark.usefixtures("in_process")
def test_report_write_failure_stops_the_run(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the report cannot be written (disk full), nothing more is sent: exit 2."""
    fake.add_users([f"u{n}" for n in range(50)])
    original = ReportWriter.write

    def fill_disk(self: ReportWriter, record: Any) -> None:
        if self.lines >= 3:
            raise ReportError("cannot write report: No space left on device")
        original(self, record)

    monkeypatch.setattr(ReportWriter, "write", fill_disk)
    path = users_file(tmp_path, [f"u{n}" for n in range(50)])
    result = confirm(fake, report, "--concurrency", "2", "--rate", "50", "--input", path)
    assert_one_line_error(result, "No space left on device")
    assert len(read_report(report)) == 3
    assert sum(fake.stats().confirm_calls.values()) < 10


def test_sigint_in_process_stops_then_second_abandons(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """A first SIGINT lets the calls in flight finish; a second abandons them; exit 130."""
    names = [f"u{n:03d}" for n in range(200)]
    fake.add_users(names)
    fake.configure(latency=0.02)
    finished = threading.Event()

    def calls() -> int:
        return sum(fake.stats().confirm_calls.values())

    def wait_for(condition: Callable[[], bool]) -> None:
        for _ in range(1000):
            if condition() or finished.is_set():
                return
            finished.wait(0.01)

    def interrupt() -> None:
        wait_for(lambda: report.exists() and report.read_text().count("\n") >= 5)
        fake.configure(latency=2.0)  # from now on every call is held for 2 s
        held = calls()
        wait_for(lambda: calls() > held)
        os.kill(os.getpid(), signal.SIGINT)
        finished.wait(0.2)
        if not finished.is_set():  # the held call is still in flight: abandon it
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        result = confirm(fake, report, "--concurrency", "4", "--input", users_file(tmp_path, names))
    finally:
        finished.set()
        sender.join()
    assert result.exit_code == 130, result.output
    assert "SIGINT" in result.stderr
    written = {line["username"] for line in read_report(report)}
    assert 5 <= len(written) < len(names)
    # Sent but abandoned by the second SIGINT: no line, so a resumed run sends it again.
    assert set(fake.stats().confirm_calls) - written


def test_tally_counts_email_failures_as_not_ok() -> None:
    """A confirmed user whose email could not be verified still needs attention."""
    tally = Tally()
    tally.add(ConfirmResult("a", Outcome.CONFIRMED), EmailCheck(False, "X"))
    tally.add(ConfirmResult("b", Outcome.CONFIRMED), EmailCheck(True))
    tally.add(ConfirmResult("c", Outcome.NOT_FOUND), EmailCheck(None))
    tally.add(ConfirmResult("d", Outcome.SKIPPED, message="any reason"), None)
    tally.add(ConfirmResult("e", Outcome.DUPLICATE, message="any reason"), None)
    assert (tally.emails_verified, tally.emails_failed, tally.not_ok) == (1, 1, 2)
    assert tally.brief() == "confirmed 2  skipped (done before) 1  duplicate 1  not_found 1"


def test_email_access_denied_stops_the_run(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role that may confirm but not update attributes: the run stops, exit 2, one line."""
    # Over HTTP, not in_process: answers arrive there in bunches, so more than one email check
    # meets the error (the run's second _fail); in-process on virtual time they come one by one.
    names = [f"u{n:02d}" for n in range(40)]
    fake.add_users(names)

    async def denied(self: EmailVerifier, username: str) -> EmailCheck:
        self.fatal_error = AccessDeniedError("not allowed", code="AccessDeniedException")
        return EmailCheck(False, "AccessDeniedException")

    monkeypatch.setattr(EmailVerifier, "verify", denied)
    path = users_file(tmp_path, names)
    result = confirm(fake, report, "--verify-email", "--concurrency", "2", "--input", path)
    assert_one_line_error(result, "AccessDeniedException")
    lines = read_report(report)
    assert 1 <= len(lines) < len(names)
    assert {line["email_error"] for line in lines} == {"AccessDeniedException"}


@pytest.mark.usefixtures("in_process")
def test_dry_run_reports_an_input_error(fake: FakeCognito, report: Path, tmp_path: Path) -> None:
    """An undecodable line found by the dry run is a one-line error, exit 2."""
    path = tmp_path / "users.txt"
    path.write_bytes(b"a\n\xff\n")
    result = confirm(fake, report, "--dry-run", "--input", str(path))
    assert_one_line_error(result, "line 2 is not valid UTF-8")


@pytest.mark.usefixtures("in_process")
def test_interrupt_during_setup_exits_130(
    fake: FakeCognito, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the run has started (reading a big report) exits 130 quietly."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "read_resume_state", interrupted)
    result = confirm(fake, report, "--resume", "--input", users_file(tmp_path, ["a"]))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    assert "Traceback" not in result.output


def test_runs_outside_the_main_thread_without_signal_handling(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """Embedded in a worker thread (no signals there), a run still completes."""
    fake.add_users(["a"])
    results: list[Result] = []
    path = users_file(tmp_path, ["a"])
    worker = threading.Thread(target=lambda: results.append(confirm(fake, report, "--input", path)))
    worker.start()
    worker.join(TIMEOUT)
    assert results[0].exit_code == 0, results[0].output


async def test_a_run_stopped_before_it_starts_sends_nothing(
    fake: FakeCognito, report: Path
) -> None:
    """A signal that arrives before the engine exists still stops it at once."""
    fake.add_users(["a", "b"])
    settings = RunSettings(fake.user_pool_id, concurrency=2, show_progress=False)
    writer = ReportWriter.create(report)
    async with CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url) as confirmer:
        bulk = BulkRun(
            confirmer, IterableSource(["a", "b"]), writer, settings, skip=None, display=NoProgress()
        )
        bulk._stop()
        tally = await bulk.run()
    writer.close()
    assert tally.users == 0
    assert fake.stats().requests == {}


def test_progress_bar_prints_notes_above_itself() -> None:
    """The bar counts results with their total and keeps operator notes readable."""
    out = io.StringIO()
    bar = ProgressBar(Console(file=out, force_terminal=True, width=100))
    tally = Tally()
    tally.add(ConfirmResult("a", Outcome.CONFIRMED), None)
    bar.advance(tally, 4)
    bar.note("SIGINT: sending no more users")
    bar.close()
    text = out.getvalue()
    assert "SIGINT: sending no more users" in text
    assert "1/4" in text
    assert "confirmed 1" in text


def test_stderr_that_cannot_say_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A closed stderr counts as no terminal: no progress bar, no crash."""
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr("sys.stderr", closed)
    assert isinstance(make_display(show_progress=True), NoProgress)


def test_main_is_the_script_entry_point() -> None:
    """main() parses sys.argv-style arguments and exits with the command's code."""
    with pytest.raises(SystemExit) as exited:
        cli_package.main(["--version"])
    assert exited.value.code == 0


def test_demo_confirms_its_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cognito-confirm demo --users 5` confirms five users in a local moto server."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run("demo", "--users", "5", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "5 UNCONFIRMED users" in result.stdout
    assert table_counts(result.stdout) == {"confirmed": 5}
    (report,) = tmp_path.glob("cognito-confirm-demo-*/cognito-confirm-*.jsonl")
    assert f"report: {report}" in result.stdout
    assert [line["outcome"] for line in read_report(report)] == ["confirmed"] * 5


def test_demo_runs_at_the_default_pace_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_url: str
) -> None:
    """The demo paces as `confirm` does by default (40/s, not unlimited) and prints that pace.

    On the session's moto server: starting its own (and the half second moto takes to stop
    one) is test_demo_confirms_its_pool's."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(demo, "moto_server", lambda: contextlib.nullcontext(moto_url))
    result = run("demo", "--users", "3", "--no-progress", "-v")
    assert result.exit_code == 0, result.output
    assert "INFO cognito_confirm: confirmer open: user pool" in result.stderr
    assert "pace 40.0 calls/s" in result.stderr  # the pacer the confirmer really holds
    assert "Pace: up to 40 calls/s, what `confirm` does by default" in result.stdout


def test_help_and_version() -> None:
    """--help and --version exit 0; no command prints the help."""
    assert run("--help").exit_code == 0
    assert "confirm" in run("--help").stdout
    assert run("--version").exit_code == 0
    assert "Usage" in run().output


@virtual_time
async def test_abandoned_run_still_writes_completed_results(report: Path) -> None:
    """Results complete but not yet taken when the run is abandoned still get their line
    (virtual time, the fake in-process: abandoned after 0.5 s of the loop's clock)."""
    fake = FakeCognito()
    names = [f"a{n:02d}" for n in range(40)]
    fake.add_users(names)
    delivered: list[str] = []

    class Stuck(BulkRun):
        async def _deliver(self, result: ConfirmResult, email_stage: Any) -> None:
            if delivered:  # take one result, then hang as a slow terminal would
                await anyio.sleep_forever()
            delivered.append(result.username)
            await super()._deliver(result, email_stage)

    settings = RunSettings(fake.user_pool_id, concurrency=4, show_progress=False)
    async with CognitoConfirmer(fake.user_pool_id, client=local_client(fake)) as confirmer:
        writer = ReportWriter.create(report)
        run = Stuck(
            confirmer, IterableSource(names), writer, settings, skip=None, display=NoProgress()
        )
        with anyio.move_on_after(0.5):
            await run.run()
        writer.close()
    written = {line["username"] for line in read_report(report)}
    assert len(written) > 1  # the one delivered, plus the buffered ones
    assert written <= {name for name in names if fake.user_status(name) == "CONFIRMED"}


@pytest.mark.usefixtures("in_process")
def test_resume_on_a_report_not_there_yet_starts_it(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """#17 case 14: one command line for a restartable job's first run and its restarts."""
    fake.add_users(["a", "b"])
    users = users_file(tmp_path, ["a", "b"])
    first = confirm(fake, report, "--resume", "--input", users)
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines() == [
        f"cognito-confirm: --resume: report {report} does not exist yet: starting a new run there"
    ]
    assert [line["outcome"] for line in read_report(report)] == ["confirmed", "confirmed"]
    again = confirm(fake, report, "--resume", "--input", users)
    assert again.exit_code == 0, again.output
    assert "does not exist" not in again.stderr
    assert dict(fake.stats().confirm_calls) == {"a": 1, "b": 1}


@pytest.mark.usefixtures("in_process")
def test_a_case_insensitive_pool_gets_each_user_sent_once(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """#17 case 3: DescribeUserPool says CaseSensitive false: Alice, alice, ALICE is one user
    (3 calls before, 2 of them counted already_confirmed by Cognito)."""
    fake.add_users(["Alice"])
    fake.configure(case_sensitive=False)
    users = users_file(tmp_path, ["Alice", "alice", "ALICE"])
    dry = confirm(fake, report, "--input", users, "--dry-run", "--output", "json")
    assert json.loads(dry.stdout)["input"]["duplicate"] == 2
    result = confirm(fake, report, "--input", users)
    assert result.exit_code == 0, result.output
    assert dict(fake.stats().confirm_calls) == {"Alice": 1}
    lines = sorted(read_report(report), key=lambda line: line["index"])
    assert [line["outcome"] for line in lines] == ["confirmed", "duplicate", "duplicate"]


@pytest.mark.usefixtures("in_process")
def test_a_case_sensitive_pool_keeps_names_apart(
    fake: FakeCognito, report: Path, tmp_path: Path
) -> None:
    """The default (CaseSensitive true): Alice and alice are two users, both sent."""
    fake.add_users(["Alice", "alice"])
    result = confirm(fake, report, "--input", users_file(tmp_path, ["Alice", "alice"]))
    assert result.exit_code == 0, result.output
    assert dict(fake.stats().confirm_calls) == {"Alice": 1, "alice": 1}


@pytest.mark.usefixtures("in_process")
def test_a_pipe_cut_mid_name_is_not_sent(fake: FakeCognito, report: Path) -> None:
    """#17 case 16: 'alice' of 'alice2024', the pipe's unterminated last line, was confirmed
    (exit 0); now the names before it get their results and the run exits 2, naming the line."""
    fake.add_users(["bob", "alice", "alice2024"])
    result = confirm(fake, report, "--no-progress", "--input", "-", stdin="bob\nalice")
    assert result.exit_code == 2, result.output
    assert dict(fake.stats().confirm_calls) == {"bob": 1}
    assert [line["username"] for line in read_report(report)] == ["bob"]
    assert "the last line (2) ends without a newline" in result.stderr
    assert "alice" not in result.stderr
