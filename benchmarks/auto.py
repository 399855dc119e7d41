"""Scenario 7: ``--rate auto`` reads the account's quota from Service Quotas.

The fake answers Service Quotas too (``AWS_ENDPOINT_URL_SERVICE_QUOTAS`` points the command at
it). With an applied quota of 100/s the command should pace at 80/s; without permission it falls
back to Cognito's default 50/s, paces at 40/s and says why in one stderr line. The pace is what
the fake measured: confirmations over the time from the first call to the last.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from .checks import TargetCheck
from .fakeproc import USER_POOL_ID, FakeProcess, FakeSettings

APPLIED_QUOTA = 100.0


@dataclass(frozen=True, slots=True)
class AutoRecord:
    """One ``--rate auto`` run.

    Attributes:
        denied: Whether Service Quotas answered AccessDenied.
        users: Users confirmed.
        pace: Confirmations per second, first call to last, as the fake saw them.
        exit_code: The command's exit code.
        notes: Its stderr lines about --rate auto.
    """

    denied: bool
    users: int
    pace: float
    exit_code: int
    notes: tuple[str, ...]


def run_auto(users: int, latency: float, *, in_process: bool = False) -> list[AutoRecord]:
    """The command with ``--rate auto``, with the quota readable and then denied.

    ``in_process`` (a smoke run) runs the same command line in this process (click's runner):
    the same command, without starting an interpreter for each run.
    """
    names = [f"auto-{n:06d}" for n in range(users)]
    records = []
    # A fake quota above what either run may pace at, so the pace alone sets the rate.
    with FakeProcess(FakeSettings(quota=APPLIED_QUOTA * 1.5, latency=latency)) as fake:
        for denied in (False, True):
            fake.prepare(names, service_quota=APPLIED_QUOTA, service_quotas_denied=denied)
            records.append(_run(fake, names, denied, in_process=in_process))
    return records


def _run(fake: FakeProcess, names: list[str], denied: bool, *, in_process: bool) -> AutoRecord:
    with tempfile.TemporaryDirectory() as directory:
        users = Path(directory) / "users.txt"
        users.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "cognito_confirm",
            "confirm",
            "--user-pool-id",
            USER_POOL_ID,
            "--endpoint-url",
            fake.endpoint_url,
            "--input",
            str(users),
            "--report",
            str(Path(directory) / "report.jsonl"),
            "--rate",
            "auto",
            "--no-progress",
        ]
        env = {"AWS_ENDPOINT_URL_SERVICE_QUOTAS": fake.endpoint_url}
        if in_process:
            exit_code, stderr = _in_process(command[3:], env)
        else:
            done = subprocess.run(
                command, capture_output=True, text=True, env={**os.environ, **env}, check=False
            )
            exit_code, stderr = done.returncode, done.stderr
    stats = fake.stats()
    first, last = stats["first_request_at"], stats["last_request_at"]
    confirmed = cast(int, stats["confirmations_total"])
    span = cast(float, last) - cast(float, first) if first is not None else 0.0
    notes = tuple(line for line in stderr.splitlines() if "--rate auto" in line)
    return AutoRecord(denied, confirmed, (confirmed - 1) / span if span else 0.0, exit_code, notes)


def _in_process(arguments: Sequence[str], env: dict[str, str]) -> tuple[int, str]:
    """The command line's exit code and stderr, run in this process with ``env`` added."""
    # Imported here: only a smoke run runs the command in this process.
    from click.testing import CliRunner

    from cognito_confirm.cli.commands import cli

    done = CliRunner().invoke(cli, list(arguments), env=env, catch_exceptions=False)
    return done.exit_code, done.stderr


def render(records: Sequence[AutoRecord]) -> list[str]:
    """The scenario's lines in the printed report."""
    lines = [f"7. --rate auto: applied UserCreation quota {APPLIED_QUOTA:g}/s in Service Quotas"]
    for record in records:
        label = "Service Quotas denied" if record.denied else "Service Quotas readable"
        note = record.notes[0] if len(record.notes) == 1 else f"{len(record.notes)} notes"
        lines.append(
            f"{label:24} {record.users} users at {record.pace:.1f}/s, exit {record.exit_code}; "
            f"stderr: {note}"
        )
    return lines


def targets(records: Sequence[AutoRecord]) -> list[TargetCheck]:
    """Issue 9's targets for --rate auto: 80/s from a 100/s quota; denied, 40/s and one line."""
    checks = []
    for record in records:
        expected = 40.0 if record.denied else APPLIED_QUOTA * 0.8
        label = "denied" if record.denied else f"quota {APPLIED_QUOTA:g}/s"
        checks.append(
            TargetCheck(
                7,
                f"--rate auto, Service Quotas {label}: paces at {expected:g}/s (within 5%), "
                "one stderr line",
                f"{record.pace:.1f}/s, {len(record.notes)} line(s), exit {record.exit_code}",
                abs(record.pace - expected) <= 0.05 * expected
                and len(record.notes) == 1
                and record.exit_code == 0,
            )
        )
    return checks
