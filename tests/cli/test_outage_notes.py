"""An endpoint that stops answering mid-run: the command line says it holds, and why it stops.

In-process on virtual time (``serve_cli_in_process``): the outages of 2 s and 60 s, the budget
and the notes' polls run on the loop's clock and take no wall time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, serve_cli_in_process, users_file

NAMES = [f"u{n:03d}" for n in range(100)]


@pytest.fixture(autouse=True)
def in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeCognito) -> None:
    serve_cli_in_process(monkeypatch, fake)


def confirm(fake: FakeCognito, tmp_path: Path, *args: str) -> tuple[Result, list[str]]:
    """Run against the fake; the result and the report's outcomes."""
    report = tmp_path / "report.jsonl"
    path = users_file(tmp_path, NAMES)
    argv = confirm_args(fake, report, "--rate", "100", "--concurrency", "4", *args, "--input", path)
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    outcomes = [json.loads(line)["outcome"] for line in report.read_text().splitlines()]
    return result, outcomes


def test_a_short_outage_is_announced_and_fails_nobody(fake: FakeCognito, tmp_path: Path) -> None:
    """The endpoint refuses connections for 2 s: a note when the run holds, one when it goes
    on, every user confirmed, exit 0."""
    fake.add_users(NAMES)
    fake.go_dark(2.0, mode="refuse", after=20)
    result, outcomes = confirm(fake, tmp_path)
    assert result.exit_code == 0, result.output
    assert "no answer from Cognito" in result.stderr
    assert "Cognito answers again: carrying on" in result.stderr
    assert outcomes == ["confirmed"] * len(NAMES)


def test_an_outage_past_the_budget_stops_the_run(fake: FakeCognito, tmp_path: Path) -> None:
    """--outage-budget 1 against an endpoint dark for a minute: exit 2 soon, results kept."""
    fake.add_users(NAMES)
    fake.go_dark(60.0, mode="drop", after=20)
    result, outcomes = confirm(fake, tmp_path, "--outage-budget", "1")
    assert result.exit_code == 2, result.output
    assert "outage budget" in result.stderr.splitlines()[-1]
    assert "report:" in result.stdout
    assert 1 <= len(outcomes) < len(NAMES)
    assert "failed" not in outcomes
