"""The run report: JSON Lines, one line per result, written as each result completes.

Each line is one JSON object with these keys, in this order::

    username      the user, as read from the input (the report is the one place it is written)
    outcome       confirmed | already_confirmed | not_found | not_confirmable | invalid |
                  duplicate | skipped | failed (before 0.2.0 a duplicate was written as skipped)
    error_code    Cognito's error code behind the outcome, or null
    message       Cognito's message, or why the user was invalid or skipped, or null
    attempts      AdminConfirmSignUp calls made for this user (0 when none was sent)
    elapsed_ms    milliseconds from the first call to the result, backoff included
    index         the user's position in this run's input, from 0
    user_status   the status Cognito named (e.g. FORCE_CHANGE_PASSWORD), or null
    request_id    the AWS request id of the last call, for a support case, or null
    time          when the result was written, UTC, ISO 8601 (2026-01-31T12:00:00.000Z)
    user_pool_id  the pool, so that --resume cannot mix up two pools' reports
    email_verified, email_error   only with --verify-email: true / false, and the error code

Lines are written with one ``os.write`` each straight to the file (no buffer in this process),
so after a ``kill -9`` every completed result is in the file: the kernel holds the data even
though the process is gone (``fsync`` would only matter for a power cut). The file is created
readable by its owner only, since it holds personal data.

An existing report is refused without ``--resume`` rather than appended to: two runs' lines in
one file would make "the last result of a user" ambiguous. With ``--resume`` the new run's lines
are appended to it. A last line cut short (a ``kill -9`` or a full disk mid-write) is ignored
when reading and cut off before appending; any other unreadable line is an error, so that a
file that is not a report is never appended to.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from .._result import ConfirmResult, Outcome

__all__ = [
    "REPORT_MODE",
    "RESUME_MESSAGE",
    "EmailCheck",
    "ReportError",
    "ReportWriter",
    "ResumeState",
    "default_report_path",
    "read_resume_state",
    "report_record",
]

REPORT_MODE: Final = 0o600
RESUME_MESSAGE: Final = "done in an earlier run: see this user's earlier line in the report"
_NEEDS_EMAIL: Final = frozenset({Outcome.CONFIRMED, Outcome.ALREADY_CONFIRMED})
_SAYS_NOTHING: Final = frozenset({Outcome.DUPLICATE, Outcome.SKIPPED})
"""A duplicate, or a user a resumed run skipped: the user's own earlier line decides."""
_OUTCOMES: Final = frozenset(outcome.value for outcome in Outcome)


class ReportError(Exception):
    """The report file cannot be created, resumed or written; the message is one line."""


@dataclass(frozen=True, slots=True)
class EmailCheck:
    """How marking a user's email verified ended (``--verify-email``).

    Attributes:
        verified: True when AdminUpdateUserAttributes set ``email_verified=true``, False when
            it failed, None when there was nothing to verify (the user is not confirmed).
        error_code: Cognito's error code when it failed, else None.
    """

    verified: bool | None
    error_code: str | None = None


def needs_email_check(result: ConfirmResult) -> bool:
    """Whether ``--verify-email`` applies to this result: the user is confirmed now."""
    return result.outcome in _NEEDS_EMAIL


def default_report_path(user_pool_id: str, now: datetime | None = None) -> Path:
    """``cognito-confirm-<pool>-<UTC timestamp>.jsonl`` in the current directory."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(f"cognito-confirm-{user_pool_id}-{stamp}.jsonl")


def report_record(
    result: ConfirmResult,
    *,
    user_pool_id: str,
    email: EmailCheck | None = None,
    now: datetime | None = None,
) -> dict[str, object]:
    """The report line for one result, as a dict in the documented key order."""
    record: dict[str, object] = {
        "username": result.username,
        "outcome": result.outcome.value,
        "error_code": result.error_code,
        "message": result.message,
        "attempts": result.attempts,
        "elapsed_ms": round(result.elapsed * 1000),
        "index": result.index,
        "user_status": result.user_status,
        "request_id": result.request_id,
        "time": _timestamp(now or datetime.now(UTC)),
        "user_pool_id": user_pool_id,
    }
    if email is not None:
        record["email_verified"] = email.verified
        record["email_error"] = email.error_code
    return record


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class ResumeState:
    """What an earlier run's report says.

    Attributes:
        done: The users not to send again: their last result (``duplicate`` and ``skipped``
            lines aside) is anything but ``failed``; with ``verify_email``, a confirmed user
            also needs ``email_verified`` true.
        lines: How many result lines were read.
        keep_bytes: Where the readable lines end: a cut-off last line starts there.
    """

    done: frozenset[str]
    lines: int
    keep_bytes: int

    def skip_reason(self, username: str) -> str | None:
        """The engine's ``skip=`` check: skip the users done in an earlier run."""
        return RESUME_MESSAGE if username in self.done else None


def read_resume_state(path: Path, *, user_pool_id: str, verify_email: bool) -> ResumeState:
    """Read a report to resume; raise ``ReportError`` if it is missing or not a report."""
    done: set[str] = set()
    lines = keep = 0
    try:
        with path.open("rb") as file:
            while raw := file.readline():
                record = _parse_line(raw)
                if record is None:
                    if raw.endswith(b"\n"):
                        msg = f"report {path}: line {lines + 1} is not a cognito-confirm result"
                        raise ReportError(msg)
                    break  # a last line cut short: that user is simply sent again
                _check_pool(record, user_pool_id, path)
                _settle(done, record, verify_email=verify_email)
                lines += 1
                keep += len(raw)
    except OSError as exc:
        msg = f"cannot resume from report {path}: {exc.strerror or exc}"
        raise ReportError(msg) from None
    return ResumeState(frozenset(done), lines, keep)


def _parse_line(raw: bytes) -> dict[str, object] | None:
    if not raw.endswith(b"\n"):
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if not isinstance(record.get("username"), str) or record.get("outcome") not in _OUTCOMES:
        return None
    return record


def _check_pool(record: Mapping[str, object], user_pool_id: str, path: Path) -> None:
    if record.get("user_pool_id") != user_pool_id:
        msg = (
            f"report {path} holds results for user pool {record.get('user_pool_id')}, "
            f"not {user_pool_id}: give this run its own --report"
        )
        raise ReportError(msg)


def _settle(done: set[str], record: Mapping[str, object], *, verify_email: bool) -> None:
    """Apply one line: the last line that says something about a user wins."""
    outcome = Outcome(str(record["outcome"]))
    if outcome in _SAYS_NOTHING:
        return
    username = str(record["username"])
    finished = outcome is not Outcome.FAILED
    if verify_email and outcome in _NEEDS_EMAIL:
        finished = record.get("email_verified") is True
    if finished:
        done.add(username)
    else:
        done.discard(username)


class ReportWriter:
    """Appends one line per result to the report, straight to the file (see the module doc).

    Attributes:
        path: The report file.
        lines: How many lines this run has written.
    """

    def __init__(self, path: Path, fd: int, *, created: bool) -> None:
        self.path = path
        self.lines = 0
        self._fd: int | None = fd
        self._created = created

    @classmethod
    def create(cls, path: Path) -> ReportWriter:
        """Create a new report (mode 0600); refuse one that already exists."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, REPORT_MODE)
        except FileExistsError:
            msg = (
                f"report {path} already exists: pass --resume to continue that run, "
                "or give another --report"
            )
            raise ReportError(msg) from None
        except OSError as exc:
            msg = f"cannot create report {path}: {exc.strerror or exc}"
            raise ReportError(msg) from None
        return cls(path, fd, created=True)

    @classmethod
    def resume(cls, path: Path, state: ResumeState) -> ReportWriter:
        """Append to an earlier run's report, cutting off a last line left incomplete."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            msg = f"cannot append to report {path}: {exc.strerror or exc}"
            raise ReportError(msg) from None
        if os.fstat(fd).st_size > state.keep_bytes:
            os.ftruncate(fd, state.keep_bytes)
        return cls(path, fd, created=False)

    def write(self, record: Mapping[str, object]) -> None:
        """Write one line; when this returns, the line survives a ``kill -9``."""
        if self._fd is None:
            msg = f"report {self.path} is closed"
            raise ReportError(msg)
        data = memoryview((json.dumps(record) + "\n").encode())
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError as exc:
            msg = f"cannot write report {self.path}: {exc.strerror or exc}"
            raise ReportError(msg) from None
        self.lines += 1

    def close(self) -> None:
        """Close the file; idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def discard_if_unused(self) -> bool:
        """Close, and delete the report if this run created it and wrote nothing in it.

        For a run that failed before any result (unknown pool, no credentials): an empty
        report would only make the next attempt refuse to start.
        """
        self.close()
        if not self._created or self.lines:
            return False
        self.path.unlink(missing_ok=True)
        return True
