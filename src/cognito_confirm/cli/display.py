"""What the operator sees: the progress bar, the summary table, one-line errors and notes.

Everything goes to standard error except the summary (standard output); no username is ever
shown.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Protocol

import click
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from .._quota import QuotaReading
from .._result import Outcome
from .tally import Tally

__all__ = [
    "PROG",
    "Display",
    "NoProgress",
    "ProgressBar",
    "error_line",
    "make_display",
    "print_json",
    "print_summary",
    "print_table",
    "say_quota",
    "warning_line",
]

PROG: Final = "cognito-confirm"


class Display(Protocol):
    """The progress bar, or nothing."""

    def advance(self, tally: Tally, total: int | None) -> None:
        """One more result."""

    def note(self, message: str) -> None:
        """A line for the operator on stderr."""

    def close(self) -> None:
        """The run is over."""


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:4.0f} users/s" if speed is not None else "   - users/s")


class ProgressBar:
    """done/total, rate, ETA and counts by outcome on stderr, refreshed by rich's own thread."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("confirming"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console or Console(stderr=True),
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("confirming", total=None, counts="")
        self._progress.start()

    def advance(self, tally: Tally, total: int | None) -> None:
        """One more result; the total becomes known when a file has been counted."""
        self._progress.update(self._task, advance=1, total=total, counts=tally.brief())

    def note(self, message: str) -> None:
        """Printed above the bar, which stays in place."""
        self._progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        """Leave the final bar on screen."""
        self._progress.stop()


class NoProgress:
    """``--no-progress``, or stderr is not a terminal: only notes are shown."""

    def advance(self, tally: Tally, total: int | None) -> None:
        """Nothing to show."""

    def note(self, message: str) -> None:
        """One line on stderr."""
        warning_line(message)

    def close(self) -> None:
        """Nothing to close."""


def make_display(show_progress: bool) -> Display:
    """A progress bar when asked for and stderr is a terminal (checked directly rather than by
    rich, which also says yes whenever FORCE_COLOR is set, as on many CI machines)."""
    if show_progress and _stderr_is_terminal():
        return ProgressBar()
    return NoProgress()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def print_summary(tally: Tally, report_path: Path) -> None:
    """The table by outcome and the report's path, on stdout; no username appears.

    The rate counts the users sent to Cognito only (``Tally.rate``).
    """
    rate = tally.rate
    rows = tally.ordered()
    if tally.emails_verified or tally.emails_failed:
        rows += [("email verified", tally.emails_verified)]
        rows += [("email not verified", tally.emails_failed)]
    print_table(
        f"{tally.users} users in {tally.elapsed:.1f} s, {tally.sent} sent ({rate:.0f} users/s)",
        ("outcome", "users"),
        rows,
        f"report: {report_path}",
    )
    whole = tally.report_counts()
    if whole is not None:
        print_table(
            f"the whole report, earlier runs included: {whole.total()} users, "
            f"{tally.verdict_not_ok} not done (the exit code says so)",
            ("last outcome", "users"),
            [(label, whole[label]) for label in sorted(whole, key=_outcome_position)],
        )


def _outcome_position(label: str) -> int:
    return [outcome.value for outcome in Outcome].index(label)


def print_table(
    heading: str, columns: tuple[str, str], rows: Iterable[tuple[str, int]], footing: str = ""
) -> None:
    """A line, a table of counts by label, and another line, on stdout (no markup, no colour).

    A closed stdout (``| head -1``) loses the rest of the table, never the exit code.
    """
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column(columns[0])
    table.add_column(columns[1], justify="right")
    for label, count in rows:
        table.add_row(label, str(count))
    try:
        console = _Stdout(file=sys.stdout, highlight=False, soft_wrap=True)
        console.print(heading, markup=False)
        console.print(table)
        if footing:
            console.print(footing, markup=False)
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


def print_json(summary: Mapping[str, Any]) -> None:
    """``--output json``: the summary as one JSON object on one line of stdout.

    A closed stdout loses the object, never the exit code.
    """
    try:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()


class _Stdout(Console):
    """rich's console for stdout, minus its ``SystemExit(1)`` when the reader has gone."""

    def on_broken_pipe(self) -> None:
        """Drop the rest of the output quietly."""
        self.quiet = True
        _discard_stdout()


def _discard_stdout() -> None:
    """Point stdout at the null device: the reader has gone, and the interpreter's own flush
    at exit would otherwise fail again and turn the exit code into 120."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's runner): nothing will flush it at exit
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


def error_line(message: str) -> None:
    """A usage or setup error: one line on stderr, whatever the message held."""
    click.echo(f"{PROG}: error: {_one_line(message)}", err=True)


def warning_line(message: str) -> None:
    """A note for the operator: one line on stderr."""
    click.echo(f"{PROG}: {_one_line(message)}", err=True)


def _one_line(message: str) -> str:
    return " ".join(message.split())


def say_quota(quota: QuotaReading, rate: float) -> None:
    """One line on stderr: where ``--rate auto`` got its pace, or why it fell back."""
    if quota.problem is not None:
        warning_line(
            f"--rate auto: could not read the UserCreation quota from Service Quotas "
            f"({quota.problem}); assuming the default {quota.value:g}/s and pacing at "
            f"up to {rate:g}/s"
        )
    else:
        warning_line(
            f"--rate auto: UserCreation quota {quota.value:g}/s ({quota.source}); pacing at "
            f"up to {rate:g}/s, the rest left to live sign-ups"
        )
