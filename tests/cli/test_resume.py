"""--resume on files that are not this pool's report: refused, named, left byte for byte."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm import ConfirmResult, Outcome
from cognito_confirm.cli.commands import cli
from cognito_confirm.cli.report import report_record
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, users_file


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
    assert outcomes == [("a", "confirmed"), ("a", "skipped"), ("b", "confirmed")]
