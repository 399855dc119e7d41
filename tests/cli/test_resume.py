"""--resume on files that are not this pool's report: refused, named, left byte for byte."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cognito_confirm import ConfirmResult, Outcome
from cognito_confirm.cli.commands import cli
from cognito_confirm.cli.report import report_record
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, serve_cli_in_process, users_file


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeCognito) -> None:
    """The command line on virtual time, answered by ``fake`` in-process: what a test marked
    so checks is the command's, not the transport's (``serve_cli_in_process``)."""
    serve_cli_in_process(monkeypatch, fake)


def resume(fake: FakeCognito, report: Path, users: str) -> Result:
    args = confirm_args(fake, report, "--resume", "--rate", "1000", "--input", users)
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def result_line(fake: FakeCognito, username: str, outcome: str) -> str:
    result = ConfirmResult(username, Outcome(outcome))
    return json.dumps(report_record(result, user_pool_id=fake.user_pool_id)) + "\n"


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "content",
    [
        '{"a": 1}',  # the export.json: taken for a torn line, cut to 0 bytes
        '{"username": "a", "outcome": "confirmed"}\n',  # not the report's fields
        "alice\nbob",
        '{"username": "a", "outcome": "confirmed", "user_pool_id": "us-east-1_FakePool1"}\n',
    ],
    ids=["json-no-newline", "two-fields", "usernames", "three-fields"],
)
def test_resume_refuses_a_file_that_is_not_a_report(
    fake: FakeCognito, tmp_path: Path, content: str
) -> None:
    """Issue 11 case 1: exit 2 naming the file, nothing sent, the file byte-identical, 0644 kept."""
    fake.add_users(["a", "b"])
    report = tmp_path / "export.json"
    report.write_text(content)
    report.chmod(0o644)
    before = snapshot(report)
    result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert f"report {report} is not a cognito-confirm report" in result.stderr
    assert snapshot(report) == before
    assert fake.stats().requests == {}


def test_resume_refuses_another_pools_report_untouched(fake: FakeCognito, tmp_path: Path) -> None:
    """A report of another pool, its last line torn: refused, and the torn line is kept."""
    report = tmp_path / "report.jsonl"
    other = result_line(fake, "a", "confirmed").replace(fake.user_pool_id, "us-east-1_Other1")
    report.write_text(other + '{"username": "b", "outco')
    before = snapshot(report)
    result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert result.exit_code == 2, result.output
    assert "holds results for user pool us-east-1_Other1" in result.stderr
    assert snapshot(report) == before


@pytest.mark.usefixtures("in_process")
def test_resume_cuts_only_the_torn_tail_of_a_report(fake: FakeCognito, tmp_path: Path) -> None:
    """A report whose last line a kill -9 cut short: that line goes, every other stays."""
    fake.add_users(["b"])
    fake.add_user("a", "CONFIRMED")
    report = tmp_path / "report.jsonl"
    kept = result_line(fake, "a", "confirmed")
    report.write_text(kept + '{"username": "b", "outco')
    result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert text.startswith(kept)
    outcomes = [(line["username"], line["outcome"]) for line in map(json.loads, text.splitlines())]
    assert outcomes == [("a", "confirmed"), ("b", "confirmed")]


@pytest.mark.usefixtures("in_process")
def test_a_resume_writes_no_line_for_the_users_it_skips(fake: FakeCognito, tmp_path: Path) -> None:
    """#17 case 13: resuming a finished report sends nothing and leaves it byte for byte."""
    fake.add_user("a", "CONFIRMED")
    fake.add_user("b", "CONFIRMED")
    report = tmp_path / "report.jsonl"
    report.write_text(result_line(fake, "a", "confirmed") + result_line(fake, "b", "confirmed"))
    before = snapshot(report)
    for _ in range(3):
        result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
        assert result.exit_code == 0, result.output
        assert snapshot(report) == before
    assert fake.stats().confirm_calls == {}
    assert "skipped (done before)" in result.stdout


def json_resume(fake: FakeCognito, report: Path, users: str) -> tuple[int, dict[str, Any]]:
    args = confirm_args(
        fake, report, "--resume", "--rate", "1000", "--input", users, "--output", "json"
    )
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.usefixtures("in_process")
def test_a_resumed_run_says_how_the_whole_migration_ended(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """#17 case 15: a user left not_found by an earlier leg keeps the last leg's exit code 1."""
    fake.add_users(["c"])
    report = tmp_path / "report.jsonl"
    report.write_text(result_line(fake, "a", "confirmed") + result_line(fake, "b", "not_found"))
    code, summary = json_resume(fake, report, users_file(tmp_path, ["a", "b", "c"]))
    assert code == 1
    assert summary["exit_code"] == 1
    assert summary["outcomes"]["skipped"] == 2  # this leg: a and b skipped, c confirmed
    assert summary["outcomes"]["confirmed"] == 1
    whole = summary["whole_report"]
    assert whole == {
        "users": 3,
        "not_done": 1,
        "outcomes": {
            "confirmed": 2,
            "already_confirmed": 0,
            "not_found": 1,
            "not_confirmable": 0,
            "invalid": 0,
            "duplicate": 0,
            "skipped": 0,
            "failed": 0,
        },
    }


@pytest.mark.usefixtures("in_process")
def test_a_last_leg_that_mends_the_failures_exits_0(fake: FakeCognito, tmp_path: Path) -> None:
    """A user failed in an earlier leg and confirmed in this one: the whole report is done."""
    fake.add_users(["b"])
    report = tmp_path / "report.jsonl"
    report.write_text(result_line(fake, "a", "confirmed") + result_line(fake, "b", "failed"))
    code, summary = json_resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert code == 0
    assert summary["whole_report"]["not_done"] == 0
    result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert "the whole report, earlier runs included: 2 users, 0 not done" in result.stdout


def first_run(fake: FakeCognito, report: Path, users: str, *args: str) -> None:
    args_ = confirm_args(fake, report, "--rate", "1000", "--input", users, *args)
    result = CliRunner().invoke(cli, args_, catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_a_report_records_where_its_calls_went(fake: FakeCognito, tmp_path: Path) -> None:
    """Every line names the region and the endpoint, after the pool id."""
    fake.add_users(["a"])
    report = tmp_path / "report.jsonl"
    first_run(fake, report, users_file(tmp_path, ["a"]))
    (line,) = map(json.loads, report.read_text().splitlines())
    assert (line["region"], line["endpoint"]) == ("us-east-1", fake.endpoint_url)


def test_resume_against_another_endpoint_is_refused(fake: FakeCognito, tmp_path: Path) -> None:
    """#17 case 4: the same pool id at another endpoint: users confirmed only at the first
    would be skipped at the second (they were, exit 0); now refused, the file untouched."""
    fake.add_users(["a"])
    report = tmp_path / "report.jsonl"
    users = users_file(tmp_path, ["a"])
    first_run(fake, report, users)
    before = snapshot(report)
    with FakeCognito(user_pool_id=fake.user_pool_id) as elsewhere:
        elsewhere.add_users(["a"])
        result = resume(elsewhere, report, users)
        assert elsewhere.stats().confirm_calls == {}
        other_url = elsewhere.endpoint_url
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert f"was written against region us-east-1 at {fake.endpoint_url}" in line
    assert f"this run sends to region us-east-1 at {other_url}" in line
    assert snapshot(report) == before


def test_resume_in_another_region_is_refused(fake: FakeCognito, tmp_path: Path) -> None:
    """--region elsewhere, same endpoint and pool id: refused as well."""
    fake.add_users(["a"])
    report = tmp_path / "report.jsonl"
    users = users_file(tmp_path, ["a"])
    first_run(fake, report, users)
    args = confirm_args(fake, report, "--resume", "--input", users, "--region", "eu-west-1")
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "this run sends to region eu-west-1" in result.stderr


def test_a_report_without_a_place_still_resumes(fake: FakeCognito, tmp_path: Path) -> None:
    """A 0.1.0 report (no region, no endpoint) resumes as before; new lines name the place."""
    fake.add_users(["b"])
    report = tmp_path / "report.jsonl"
    report.write_text(result_line(fake, "a", "confirmed"))
    result = resume(fake, report, users_file(tmp_path, ["a", "b"]))
    assert result.exit_code == 0, result.output
    first, second = map(json.loads, report.read_text().splitlines())
    assert "endpoint" not in first
    assert (second["username"], second["endpoint"]) == ("b", fake.endpoint_url)
    assert dict(fake.stats().confirm_calls) == {"b": 1}
