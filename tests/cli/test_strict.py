"""Bad options and bad input: one line on stderr, exit 2, nothing sent, no report created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, users_file


def confirm(fake: FakeCognito, report: Path, *args: str, stdin: bytes | None = None) -> Result:
    args_ = confirm_args(fake, report, "--rate", "1000", *args)
    return CliRunner().invoke(cli, args_, input=stdin, catch_exceptions=False)


def assert_refused(result: Result, *fragments: str) -> str:
    """Exit 2 with one line on stderr holding every fragment; that line."""
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("cognito-confirm: error: ")
    for fragment in fragments:
        assert fragment in line
    return line


def stray_quote_csv(tmp_path: Path) -> str:
    """The issue's file: 100 users, a stray quote on row 12 (line 13 with the header)."""
    rows = ["username,name"] + [
        f"user{n:06d},\"O'Brien" if n == 11 else f"user{n:06d},x" for n in range(100)
    ]
    return users_file(tmp_path, rows, name="users.csv")


def test_a_stray_quote_in_a_csv_stops_before_anything_is_sent(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """Issue 11 case 2: was 11 users confirmed and exit 0; now exit 2 naming line 13, no call."""
    fake.add_users(f"user{n:06d}" for n in range(100))
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", stray_quote_csv(tmp_path), "--column", "username")
    assert_refused(result, "users.csv: CSV error at line 13", "never closed")
    assert fake.stats().requests == {}
    assert not report.exists()


def test_duplicate_csv_header_is_an_error(fake: FakeCognito, tmp_path: Path) -> None:
    """email,email: exit 2 before any call, instead of silently using the first."""
    path = users_file(tmp_path, ["email,email", "a@x,b@x"], name="users.csv")
    result = confirm(fake, tmp_path / "report.jsonl", "--input", path, "--column", "email")
    assert_refused(result, "two 'email' columns (1 and 2)")
    assert fake.stats().requests == {}


def test_undecodable_line_deep_in_a_file_stops_before_anything_is_sent(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """A bad byte at line 3,001 of a file: exit 2 naming the line, no call, no report."""
    names = [f"u{n}" for n in range(3000)]
    fake.add_users(names)
    path = tmp_path / "users.txt"
    path.write_bytes("".join(f"{name}\n" for name in names).encode() + b"\xff\nlast\n")
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", str(path))
    assert_refused(result, "line 3001 is not valid UTF-8")
    assert fake.stats().requests == {}
    assert not report.exists()


def test_undecodable_line_mid_pipe_stops_the_run_with_results_written(
    fake: FakeCognito, tmp_path: Path
) -> None:
    """Standard input is checked as it streams: the users before the bad line get their lines
    (the calls in flight finish), the summary shows, then the error: exit 2."""
    fake.add_users(["a", "b"])
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", "-", stdin=b"a\nb\n\xff\nc\n")
    assert result.exit_code == 2, result.output
    assert "line 3 is not valid UTF-8" in result.stderr
    assert "report:" in result.stdout
    written = sorted(json.loads(line)["username"] for line in report.read_text().splitlines())
    assert written == ["a", "b"]


@pytest.mark.parametrize("stdin", [b"", b"\n  \n"])
def test_an_empty_input_leaves_no_report(fake: FakeCognito, tmp_path: Path, stdin: bytes) -> None:
    """Nothing to confirm: exit 0, a note, and no empty report to block the next run."""
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", "-", stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "no usernames" in result.stderr
    assert not report.exists()
    again = confirm(fake, report, "--input", "-", stdin=b"")
    assert again.exit_code == 0, again.output
