"""The JSONL report: its lines, its file mode, and reading it back to resume a run."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cognito_confirm import ConfirmResult, Outcome
from cognito_confirm.cli.report import (
    MAX_LINE_BYTES,
    RESUME_MESSAGE,
    EmailCheck,
    NoReportYetError,
    ReportError,
    ReportWriter,
    ResumeState,
    default_report_path,
    read_resume_state,
    report_record,
)

POOL = "us-east-1_Pool1"
KEYS = [
    "username",
    "outcome",
    "error_code",
    "message",
    "attempts",
    "elapsed_ms",
    "index",
    "user_status",
    "request_id",
    "time",
    "user_pool_id",
]


def line(username: str, outcome: str, **extra: object) -> str:
    """A report line as the writer writes it, with ``extra`` keys changed or added."""
    record = report_record(ConfirmResult(username, Outcome(outcome)), user_pool_id=POOL)
    return json.dumps({**record, **extra})


def write_report(path: Path, *lines: str, tail: str = "") -> Path:
    path.write_text("".join(f"{text}\n" for text in lines) + tail)
    return path


def test_record_has_every_documented_key_in_order() -> None:
    """A result becomes the documented keys; the time is UTC with a Z; elapsed is in ms."""
    result = ConfirmResult(
        "alice",
        Outcome.NOT_CONFIRMABLE,
        error_code="NotAuthorizedException",
        message="User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD",
        attempts=1,
        elapsed=0.0426,
        index=7,
        user_status="FORCE_CHANGE_PASSWORD",
        request_id="req-1",
    )
    moment = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    record = report_record(result, user_pool_id=POOL, now=moment)
    assert list(record) == KEYS
    assert record["outcome"] == "not_confirmable"
    assert record["elapsed_ms"] == 43
    assert record["time"] == "2026-01-31T12:00:00.123Z"
    with_email = report_record(result, user_pool_id=POOL, email=EmailCheck(False, "X"))
    assert list(with_email) == [*KEYS, "email_verified", "email_error"]
    assert (with_email["email_verified"], with_email["email_error"]) == (False, "X")


def test_default_path_names_pool_and_utc_time() -> None:
    """The default report name holds the pool id and a UTC timestamp."""
    moment = datetime(2026, 1, 31, 12, 0, 5, tzinfo=UTC)
    assert default_report_path(POOL, moment) == Path(
        "cognito-confirm-us-east-1_Pool1-20260131T120005Z.jsonl"
    )
    assert default_report_path(POOL).name.startswith("cognito-confirm-us-east-1_Pool1-")


def test_writer_creates_owner_only_file_and_writes_through(tmp_path: Path) -> None:
    """The report is mode 0600, and each line is in the file as soon as write() returns."""
    path = tmp_path / "report.jsonl"
    writer = ReportWriter.create(path)
    try:
        writer.write({"username": "alice", "outcome": "confirmed"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_text()) == {"username": "alice", "outcome": "confirmed"}
        assert writer.lines == 1
    finally:
        writer.close()
        writer.close()
    with pytest.raises(ReportError, match="closed"):
        writer.write({})


def test_writer_refuses_an_existing_report(tmp_path: Path) -> None:
    """Without --resume an existing report is never appended to, nor truncated."""
    path = write_report(tmp_path / "report.jsonl", line("alice", "confirmed"))
    with pytest.raises(ReportError, match="already exists: pass --resume"):
        ReportWriter.create(path)
    with pytest.raises(ReportError, match="cannot create report"):
        ReportWriter.create(tmp_path / "no-such-dir" / "report.jsonl")
    assert path.read_text().count("\n") == 1


def test_unused_report_is_discarded_but_not_a_resumed_one(tmp_path: Path) -> None:
    """A run that wrote nothing removes the report it created, never an earlier run's."""
    fresh = ReportWriter.create(tmp_path / "fresh.jsonl")
    assert fresh.discard_if_unused()
    assert not (tmp_path / "fresh.jsonl").exists()
    used = ReportWriter.create(tmp_path / "used.jsonl")
    used.write({"username": "a", "outcome": "confirmed"})
    assert not used.discard_if_unused()
    old = write_report(tmp_path / "old.jsonl", line("a", "confirmed"))
    resumed = ReportWriter.resume(
        old, read_resume_state(old, user_pool_id=POOL, verify_email=False)
    )
    assert not resumed.discard_if_unused()
    assert old.exists()


def test_resume_state_takes_each_users_last_result(tmp_path: Path) -> None:
    """Only users whose last result is failed, or who have none, are sent again.

    Duplicate and skipped lines say nothing, whether written as ``duplicate`` or, before 0.2.0,
    as ``skipped`` with the duplicate message.
    """
    path = write_report(
        tmp_path / "report.jsonl",
        line("ok", "confirmed"),
        line("ok", "skipped", message=RESUME_MESSAGE),
        line("retry-then-ok", "failed"),
        line("retry-then-ok", "already_confirmed"),
        line("still-failing", "failed"),
        line("still-failing", "skipped", message="duplicate of an earlier input item"),
        line("still-failing", "duplicate", message="duplicate of an earlier input item"),
        line("missing", "not_found"),
        line("bad name", "invalid"),
        line("only-a-duplicate-line", "skipped"),
        line("only-a-duplicate-line-now", "duplicate"),
    )
    state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert state.done == {"ok", "retry-then-ok", "missing", "bad name"}
    assert state.lines == 11
    assert state.skip_reason("ok") == RESUME_MESSAGE
    assert state.skip_reason("still-failing") is None
    assert state.skip_reason("never-seen") is None


def test_resume_with_verify_email_needs_a_verified_email(tmp_path: Path) -> None:
    """With --verify-email a confirmed user counts as done only once its email is verified."""
    path = write_report(
        tmp_path / "report.jsonl",
        line("verified", "confirmed", email_verified=True),
        line("not-verified", "confirmed", email_verified=False),
        line("before-verify-email", "already_confirmed"),
        line("missing", "not_found", email_verified=None),
    )
    with_email = read_resume_state(path, user_pool_id=POOL, verify_email=True)
    assert with_email.done == {"verified", "missing"}
    without = read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert without.done == {"verified", "not-verified", "before-verify-email", "missing"}


def test_truncated_last_line_is_ignored_then_cut_off(tmp_path: Path) -> None:
    """A last line cut short by kill -9 is ignored, and removed before the next line goes in."""
    good = [line("a", "confirmed"), line("b", "confirmed")]
    path = write_report(tmp_path / "report.jsonl", *good, tail='{"username": "c", "outc')
    state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert state.done == {"a", "b"}
    assert state.lines == 2
    writer = ReportWriter.resume(path, state)
    writer.write({"username": "c", "outcome": "confirmed", "user_pool_id": POOL})
    writer.close()
    lines = path.read_text().splitlines()
    assert [json.loads(text)["username"] for text in lines] == ["a", "b", "c"]


def test_unreadable_line_before_the_end_is_refused(tmp_path: Path) -> None:
    """A file that is not a report (a bad line that is not the last) is never appended to."""
    path = write_report(tmp_path / "users.txt", "alice", "bob")
    with pytest.raises(ReportError, match="line 1 is not one of its results"):
        read_resume_state(path, user_pool_id=POOL, verify_email=False)
    for bad in ("[1, 2]", '{"username": "b"}'):
        path = write_report(tmp_path / "mixed.jsonl", line("a", "confirmed"), bad)
        with pytest.raises(ReportError, match="line 2"):
            read_resume_state(path, user_pool_id=POOL, verify_email=False)


def test_report_of_another_pool_is_refused(tmp_path: Path) -> None:
    """Resuming with another pool's report would skip the wrong users: it is an error."""
    path = write_report(tmp_path / "report.jsonl", line("a", "confirmed"))
    with pytest.raises(ReportError, match="holds results for user pool us-east-1_Pool1"):
        read_resume_state(path, user_pool_id="us-east-1_Other", verify_email=False)


def test_missing_report_is_told_apart(tmp_path: Path) -> None:
    """A report that does not exist is NoReportYetError (the command line starts it afresh);
    appending to one that vanished after it was read is still an error."""
    with pytest.raises(NoReportYetError, match="does not exist"):
        read_resume_state(tmp_path / "nope.jsonl", user_pool_id=POOL, verify_email=False)
    with pytest.raises(ReportError, match="cannot resume from report"):
        read_resume_state(tmp_path, user_pool_id=POOL, verify_email=False)
    with pytest.raises(ReportError, match="cannot append to report"):
        ReportWriter.resume(tmp_path / "nope.jsonl", ResumeState(frozenset(), 0, 0))


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), stat.S_IMODE(path.stat().st_mode)


NOT_REPORTS = {
    "one JSON object, no newline": '{"a": 1}',
    "a result missing its keys, no newline": '{"username": "x", "outcome": "confirmed"}',
    "a result missing its keys": '{"username": "x", "outcome": "confirmed"}\n',
    "a result of the wrong types": line("a", "confirmed", attempts="1") + "\n",
    "usernames": "alice\nbob\n",
    "a blank line": line("a", "confirmed") + "\n\n" + line("b", "confirmed") + "\n",
    "results then a torn line of something else": line("a", "confirmed") + '\n{"b": ',
    "a NUL": line("a", "confirmed") + "\n\x00",
    "too long a line": line("a", "confirmed") + "\n" + "x" * (MAX_LINE_BYTES + 10),
}


@pytest.mark.parametrize("content", NOT_REPORTS.values(), ids=NOT_REPORTS.keys())
def test_a_file_that_is_not_a_report_is_refused_untouched(tmp_path: Path, content: str) -> None:
    """Issue 11 case 1: anything but this tool's report is refused, naming it, byte-identical."""
    path = tmp_path / "export.json"
    path.write_text(content)
    path.chmod(0o644)
    before = snapshot(path)
    with pytest.raises(ReportError, match=r"report .*export\.json is not a cognito-confirm report"):
        read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert snapshot(path) == before


@pytest.mark.parametrize("device", ["/dev/full", "/dev/zero", "/dev/null"])
def test_a_device_is_refused_without_reading_it(device: str) -> None:
    """--report /dev/full --resume: refused at once, nothing read (no unbounded readline)."""
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    with pytest.raises(ReportError, match="it is not a regular file"):
        read_resume_state(Path(device), user_pool_id=POOL, verify_email=False)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    """A named pipe given as the report is refused, not opened and waited on."""
    fifo = tmp_path / "report.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(ReportError, match="it is not a regular file"):
        read_resume_state(fifo, user_pool_id=POOL, verify_email=False)


def test_an_overlong_last_line_is_read_with_a_bound(tmp_path: Path) -> None:
    """A 4 MiB line without a newline is refused after reading MAX_LINE_BYTES + 1 of it."""
    path = tmp_path / "report.jsonl"
    path.write_bytes(b"\x00" * (4 * MAX_LINE_BYTES))
    with pytest.raises(ReportError, match=f"line 1 is longer than {MAX_LINE_BYTES} bytes"):
        read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert path.stat().st_size == 4 * MAX_LINE_BYTES


@pytest.mark.parametrize(
    "tail", ["{", '{"username": "', '{"username": "c", "outc', line("c", "confirmed")]
)
def test_only_a_torn_report_line_is_cut_off(tmp_path: Path, tail: str) -> None:
    """What a kill -9 mid-write leaves (even as the only content) is the one thing cut off."""
    for lines in ([], [line("a", "confirmed")]):
        path = write_report(tmp_path / "report.jsonl", *lines, tail=tail)
        state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
        assert (state.lines, state.keep_bytes) == (len(lines), path.stat().st_size - len(tail))
        ReportWriter.resume(path, state).close()
        assert path.read_text() == "".join(f"{text}\n" for text in lines)


def test_an_empty_report_is_resumed(tmp_path: Path) -> None:
    """An empty file (a run killed before its first result) holds nothing to lose."""
    path = tmp_path / "report.jsonl"
    path.touch()
    state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
    assert (state.lines, state.done) == (0, frozenset())


def test_a_report_changed_after_reading_is_not_cut(tmp_path: Path) -> None:
    """Another run appending between reading and appending: refused, its lines kept."""
    path = write_report(tmp_path / "report.jsonl", line("a", "confirmed"), tail='{"username"')
    state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
    with path.open("a") as other_run:
        other_run.write(': "b"}\n')
    before = snapshot(path)
    with pytest.raises(ReportError, match="changed after it was read"):
        ReportWriter.resume(path, state)
    assert snapshot(path) == before
    replaced = write_report(tmp_path / "new.jsonl", line("a", "confirmed"), tail='{"username"')
    replaced.replace(path)  # the size read, but another file
    with pytest.raises(ReportError, match="changed after it was read"):
        ReportWriter.resume(path, state)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_write_failure_is_a_report_error() -> None:
    """A full disk turns into a one-line ReportError, not an OSError traceback."""
    writer = ReportWriter(Path("/dev/full"), os.open("/dev/full", os.O_WRONLY), created=False)
    try:
        with pytest.raises(ReportError, match="No space left on device"):
            writer.write({"username": "a", "outcome": "confirmed"})
    finally:
        writer.close()


def test_a_report_another_run_is_writing_is_not_resumed(tmp_path: Path) -> None:
    """Two runs on one report: the second is refused while the first holds it, not after."""
    path = tmp_path / "report.jsonl"
    first = ReportWriter.create(path)
    try:
        first.write(json.loads(line("a", "confirmed")))
        state = read_resume_state(path, user_pool_id=POOL, verify_email=False)
        with pytest.raises(ReportError, match="being written by another run"):
            ReportWriter.resume(path, state)
    finally:
        first.close()
    ReportWriter.resume(path, state).close()  # free once the first run is over
