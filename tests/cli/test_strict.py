"""Bad options and bad input: one line on stderr, exit 2, nothing sent, no report created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm import CognitoConfirmer
from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, serve_cli_in_process, users_file


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeCognito) -> None:
    """The command line on virtual time, answered by ``fake`` in-process: what a test marked
    so checks is the command's, not the transport's (``serve_cli_in_process``)."""
    serve_cli_in_process(monkeypatch, fake)


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


@pytest.mark.usefixtures("in_process")
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
@pytest.mark.usefixtures("in_process")
def test_an_empty_input_leaves_no_report(fake: FakeCognito, tmp_path: Path, stdin: bytes) -> None:
    """Nothing to confirm: exit 0, a note, and no empty report to block the next run."""
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", "-", stdin=stdin)
    assert result.exit_code == 0, result.output
    assert "no usernames" in result.stderr
    assert not report.exists()
    again = confirm(fake, report, "--input", "-", stdin=b"")
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rate", "nan"], "--rate"),
        (["--rate", "inf"], "--rate"),
        (["--grace", "nan"], "--grace"),
        (["--grace", "-1"], "--grace"),
        (["--grace", "soon"], "--grace"),
        (["--outage-budget", "0"], "--outage-budget"),
        (["--outage-budget", "inf"], "--outage-budget"),
        (["--endpoint-url", "localhost:18081"], "not an http:// or https:// URL"),
        (["--endpoint-url", "http//x"], "not an http:// or https:// URL"),
        (["--endpoint-url", ""], "not an http:// or https:// URL"),
        (["--endpoint-url", "http://127.0.0.1:1/cognito"], "has a path"),
        (["--endpoint-url", "http://127.0.0.1:99999"], "not a URL"),
        (["--endpoint-url", "http://127.0.0.1:0"], "has port 0"),
        (["--endpoint-url", "http://under_score:1"], "has no valid host name"),
        (["--endpoint-url", "http://key:s3cret@127.0.0.1:1"], "credentials in it"),
        (["--region", "bad_region!"], "not an AWS region name"),
        (["--region", ""], "not an AWS region name"),
    ],
)
def test_a_bad_option_is_one_line_and_creates_nothing(
    fake: FakeCognito, tmp_path: Path, args: list[str], fragment: str
) -> None:
    """Issue 11 case 4: was a traceback and exit 1 for a malformed endpoint URL (and 200
    users failed for one with a path); now one line, exit 2, no report, nothing sent."""
    fake.add_users(["alice"])
    report = tmp_path / "report.jsonl"
    # The last --endpoint-url given wins: the bad one, when there is one.
    result = confirm(fake, report, *args, "--input", users_file(tmp_path, ["alice"]))
    line = assert_refused(result, fragment, "confirm --help)")
    assert "s3cret" not in line
    assert not report.exists()
    assert fake.stats().requests == {}


@pytest.mark.parametrize(
    "variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]
)
def test_a_bad_endpoint_from_the_environment_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """botocore takes an endpoint from the environment too: it gets the same check."""
    monkeypatch.setenv(variable, "localhost:18081")
    report = tmp_path / "report.jsonl"
    args = ["confirm", "--user-pool-id", "us-east-1_P", "--input", "-", "--report", str(report)]
    result = CliRunner().invoke(cli, args, input=b"alice\n", catch_exceptions=False)
    assert_refused(result, f"{variable}: 'localhost:18081' is not an http://")
    assert not report.exists()


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
@pytest.mark.usefixtures("in_process")
def test_an_unknown_pool_names_region_when_it_differs(
    fake: FakeCognito, tmp_path: Path, dry_run: list[str]
) -> None:
    """Issue 11 case 5: a pool id of eu-west-1 sent to us-east-1 by --region: the error says so."""
    report = tmp_path / "report.jsonl"
    args = [
        "confirm",
        "--user-pool-id",
        "eu-west-1_FakePool1",
        "--region",
        "us-east-1",
        "--endpoint-url",
        fake.endpoint_url,
        "--report",
        str(report),
        "--input",
        users_file(tmp_path, ["alice"]),
        *dry_run,
    ]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert_refused(
        result,
        "ResourceNotFoundException",
        "the pool id names region eu-west-1, but --region sends the calls to us-east-1",
    )
    assert not report.exists()


def test_an_aws_configuration_botocore_rejects_is_one_line(
    fake: FakeCognito, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's ValueError for a configured endpoint or region it cannot use: one line."""

    async def rejected(self: CognitoConfirmer) -> CognitoConfirmer:
        raise ValueError("Invalid endpoint: localhost:1")

    monkeypatch.setattr(CognitoConfirmer, "__aenter__", rejected)
    report = tmp_path / "report.jsonl"
    result = confirm(fake, report, "--input", users_file(tmp_path, ["alice"]))
    assert_refused(result, "no usable Cognito client: Invalid endpoint: localhost:1")
    assert not report.exists()
