"""``--output json``: what a run did, as one JSON object on stdout, for pipelines.

The AWS CLI's habit: the table is for people, ``--output json`` for ``jq`` and scripts. The
object is printed once, at the end, on one line; the progress bar and the notes stay on stderr.
Like the table, it holds counts and paths, never a username or ``ClientMetadata``.

Keys of every object: ``user_pool_id``, ``dry_run``, ``exit_code``, ``error`` (the one-line
error, or null). A run adds ``users`` (with a result), ``sent`` (to Cognito), ``outcomes`` (users
by outcome, every outcome present), ``emails_verified`` and ``emails_not_verified`` (null without
``--verify-email``), ``elapsed`` (seconds), ``rate`` (users sent per second), ``report`` (its
path, or null when no report was kept), ``stopped_by`` (the signal's name, or null) and
``whole_report``: for a ``--resume`` run, the report with the earlier runs' results included,
``{"users": N, "not_done": N, "outcomes": {...}}`` by each user's last outcome (what the exit
code says); null for a new report, where ``outcomes`` is already the whole story. A dry
run adds ``pool_name``, ``estimated_users``, ``input`` (items ``to_send``, ``invalid``,
``duplicate``, ``skipped``, ``total``) and ``elapsed``. A setup error found before the run
(no credentials, an unknown pool, unreadable input) has the four common keys only; a stop
signal before the run started (while the input, the quota or the pool was read) adds
``stopped_by``.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path
from typing import Any, Final

from .._result import Outcome
from .tally import RESUMED, Tally

__all__ = [
    "DRY_RUN_LABELS",
    "dry_run_summary",
    "error_summary",
    "run_summary",
    "stopped_in_setup_summary",
]

DRY_RUN_LABELS: Final = {
    "to send": "to_send",
    "invalid": "invalid",
    "duplicates": "duplicate",
    RESUMED: "skipped",
}
"""The dry run's table labels and their JSON keys."""


def run_summary(
    tally: Tally,
    *,
    user_pool_id: str,
    report: Path | None,
    exit_code: int,
    verify_email: bool,
) -> dict[str, Any]:
    """A run's summary: the counts of the summary table, and how the run ended."""
    counts = {outcome.value: tally.counts[_label(outcome)] for outcome in Outcome}
    return {
        **_common(user_pool_id, dry_run=False, exit_code=exit_code, error=tally.error),
        "users": tally.users,
        "sent": tally.sent,
        "outcomes": counts,
        "emails_verified": tally.emails_verified if verify_email else None,
        "emails_not_verified": tally.emails_failed if verify_email else None,
        "elapsed": round(tally.elapsed, 3),
        "rate": round(tally.rate, 1),
        "report": None if report is None else str(report),
        "stopped_by": None if tally.signal is None else signal.Signals(tally.signal).name,
        "whole_report": _whole_report(tally),
    }


def _whole_report(tally: Tally) -> dict[str, Any] | None:
    whole = tally.report_counts()
    if whole is None:
        return None
    return {
        "users": whole.total(),
        "not_done": tally.verdict_not_ok,
        "outcomes": {outcome.value: whole[outcome.value] for outcome in Outcome},
    }


def dry_run_summary(
    counts: Counter[str],
    *,
    user_pool_id: str,
    pool_name: str,
    estimated_users: int | None,
    elapsed: float,
    exit_code: int,
) -> dict[str, Any]:
    """A dry run's summary: the pool, and what the run would do with each input item."""
    items = {key: counts[label] for label, key in DRY_RUN_LABELS.items()}
    return {
        **_common(user_pool_id, dry_run=True, exit_code=exit_code, error=None),
        "pool_name": pool_name,
        "estimated_users": estimated_users,
        "input": {**items, "total": counts.total()},
        "elapsed": round(elapsed, 3),
    }


def error_summary(
    error: Exception, *, user_pool_id: str, dry_run: bool, exit_code: int
) -> dict[str, Any]:
    """A setup error that came before any run: the common keys only."""
    return _common(user_pool_id, dry_run=dry_run, exit_code=exit_code, error=error)


def stopped_in_setup_summary(
    signum: int, *, user_pool_id: str, dry_run: bool, exit_code: int
) -> dict[str, Any]:
    """A stop signal before the run started: the common keys and the signal's name."""
    return {
        **_common(user_pool_id, dry_run=dry_run, exit_code=exit_code, error=None),
        "stopped_by": signal.Signals(signum).name,
    }


def _common(
    user_pool_id: str, *, dry_run: bool, exit_code: int, error: Exception | None
) -> dict[str, Any]:
    return {
        "user_pool_id": user_pool_id,
        "dry_run": dry_run,
        "exit_code": exit_code,
        "error": None if error is None else " ".join(str(error).split()),
    }


def _label(outcome: Outcome) -> str:
    return RESUMED if outcome is Outcome.SKIPPED else outcome.value
