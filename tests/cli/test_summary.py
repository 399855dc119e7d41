"""The summary on stdout: its rate, and a reader that goes away (``| head -1``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from cognito_confirm import ConfirmResult, Outcome
from cognito_confirm.cli.display import print_summary
from cognito_confirm.cli.tally import Tally


def tally_of(**outcomes: int) -> Tally:
    tally = Tally()
    for outcome, count in outcomes.items():
        for n in range(count):
            tally.add(ConfirmResult(f"{outcome}{n}", Outcome(outcome)), None)
    tally.elapsed = 2.0
    return tally


def test_the_rate_counts_only_the_users_sent(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11 case 5: 20 sent among 100 in 2 s is 10 users/s, not 50."""
    tally = tally_of(confirmed=15, not_found=5, skipped=70, duplicate=5, invalid=5)
    assert (tally.users, tally.sent) == (100, 20)
    print_summary(tally, Path("report.jsonl"))
    heading = capsys.readouterr().out.splitlines()[0]
    assert heading == "100 users in 2.0 s, 20 sent (10 users/s)"


def test_a_closed_stdout_loses_the_summary_not_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """No reader left on stdout: the summary is dropped without an exception, and stdout then
    points at the null device so the interpreter's last flush cannot fail either."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as closed_pipe:
        monkeypatch.setattr(sys, "stdout", closed_pipe)
        print_summary(tally_of(confirmed=3), Path("report.jsonl"))
        closed_pipe.write("more")
        closed_pipe.flush()
        assert os.path.samestat(os.fstat(write_end), os.stat(os.devnull))
