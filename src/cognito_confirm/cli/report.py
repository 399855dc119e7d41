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
    region, endpoint   where the calls went (the client's region and Cognito endpoint URL),
                  so that --resume cannot mix up two places with a pool of the same id (a
                  replica region, a test endpoint); since 0.2.0, absent from older lines
    email_verified, email_error   only with --verify-email: true / false, and the error code

Lines are written with one ``os.write`` each straight to the file (no buffer in this process),
so after a ``kill -9`` every completed result is in the file: the kernel holds the data even
though the process is gone (``fsync`` would only matter for a power cut). The file is created
readable by its owner only, since it holds personal data.

An existing report is refused without ``--resume`` rather than appended to: two runs' lines in
one file would make "the last result of a user" ambiguous. With ``--resume`` the new run's lines
are appended to it, but only to a file that is recognisably a report of this pool: a regular
file whose every complete line is a JSON object with the eleven keys above, of their types,
naming this pool. The one thing ever cut off is a last line cut short (a ``kill -9`` or a full
disk mid-write), and only when it starts as every report line does and the file has not changed
since it was read. Anything else is refused with the file left as it was, byte for byte. Lines
are read with a bound (``MAX_LINE_BYTES``), so even ``--report /dev/zero`` cannot fill memory.
The run writing a report holds an ``flock`` on it, so a second run cannot resume it meanwhile.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final

from .._result import ConfirmResult, Outcome

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_LINE_BYTES",
    "REPORT_MODE",
    "RESUME_MESSAGE",
    "EmailCheck",
    "NoReportYetError",
    "Place",
    "ReportError",
    "ReportWriter",
    "ResumeState",
    "default_report_path",
    "read_resume_state",
    "report_record",
]

REPORT_MODE: Final = 0o600
MAX_LINE_BYTES: Final = 1024 * 1024
"""The longest report line read back: a line holds one input line (64 KiB at most), escaped."""
RESUME_MESSAGE: Final = "done in an earlier run: see this user's earlier line in the report"
_NEEDS_EMAIL: Final = frozenset({Outcome.CONFIRMED, Outcome.ALREADY_CONFIRMED})
_SAYS_NOTHING: Final = frozenset({Outcome.DUPLICATE, Outcome.SKIPPED})
"""A duplicate, or a user a resumed run skipped: the user's own earlier line decides."""
_OUTCOMES: Final = frozenset(outcome.value for outcome in Outcome)
_TEXT: Final = (str,)
_TEXT_OR_NULL: Final = (str, type(None))
_FIELD_TYPES: Final[Mapping[str, tuple[type, ...]]] = {
    "username": _TEXT,
    "outcome": _TEXT,
    "error_code": _TEXT_OR_NULL,
    "message": _TEXT_OR_NULL,
    "attempts": (int,),
    "elapsed_ms": (int,),
    "index": (int,),
    "user_status": _TEXT_OR_NULL,
    "request_id": _TEXT_OR_NULL,
    "time": _TEXT,
    "user_pool_id": _TEXT,
}
"""The keys every report line has had since 0.1.0, with the types of their values."""
_LINE_START: Final = b'{"username": "'
"""How every line the writer writes begins (``json.dumps`` of a dict whose first key is this)."""
_OPEN_FLAGS: Final = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
"""O_NONBLOCK: opening a FIFO given as the report must not hang before it is refused."""


class ReportError(Exception):
    """The report file cannot be created, resumed or written; the message is one line."""


class NoReportYetError(ReportError):
    """``--resume`` names a report that does not exist: the command line starts it afresh."""


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


@dataclass(frozen=True, slots=True)
class Place:
    """Where a run's calls go: a pool id names a pool in one region at one endpoint only.

    Attributes:
        region: The client's region.
        endpoint: The Cognito endpoint URL the client calls.
    """

    region: str | None
    endpoint: str | None

    def describe(self) -> str:
        """The place in a few words, for a message (an endpoint URL carries no credentials)."""
        return f"region {self.region} at {self.endpoint}"


def report_record(
    result: ConfirmResult,
    *,
    user_pool_id: str,
    email: EmailCheck | None = None,
    now: datetime | None = None,
    place: Place | None = None,
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
    if place is not None:
        record["region"] = place.region
        record["endpoint"] = place.endpoint
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
        last: Every user's last result in the report, as its outcome and whether it is ok
            (with ``verify_email``, a confirmed user whose email is not verified is not): what
            the whole migration's summary and exit code start from.
        lines: How many result lines were read.
        keep_bytes: Where the readable lines end: a cut-off last line starts there.
        size: The file's size when it was read; appending checks that it has not changed.
        file_id: The file's device and inode numbers when it was read.
        place: Where the report's last line that says went (None for a 0.1.0 report).
    """

    done: frozenset[str]
    lines: int
    keep_bytes: int
    size: int = 0
    file_id: tuple[int, int] = (0, 0)
    last: dict[str, tuple[Outcome, bool]] = field(default_factory=dict)
    place: Place | None = None

    def check_place(self, path: Path, place: Place) -> None:
        """Refuse to resume against another place: users confirmed only there would be
        skipped here. A 0.1.0 report says nothing of its place, and resumes."""
        if self.place is not None and self.place != place:
            msg = (
                f"report {path} was written against {self.place.describe()}, but this run "
                f"sends to {place.describe()}: users confirmed only there would be skipped "
                "here; give this run its own --report"
            )
            raise ReportError(msg)

    def skip_reason(self, username: str) -> str | None:
        """The engine's ``skip=`` check: skip the users done in an earlier run."""
        return RESUME_MESSAGE if username in self.done else None


def read_resume_state(path: Path, *, user_pool_id: str, verify_email: bool) -> ResumeState:
    """Read a report to resume; raise ``ReportError`` if it is not a report, the
    ``NoReportYetError`` one if there is no such file.

    Nothing is written here: a file refused is left exactly as it was.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
    except FileNotFoundError:
        msg = f"report {path} does not exist"
        raise NoReportYetError(msg) from None
    except OSError as exc:
        msg = f"cannot resume from report {path}: {exc.strerror or exc}"
        raise ReportError(msg) from None
    try:
        with os.fdopen(fd, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _not_a_report(path, "it is not a regular file")
            last: dict[str, tuple[Outcome, bool]] = {}
            places: list[Place] = []
            lines, keep, size = _read_results(
                file, path, (user_pool_id, verify_email), last, places
            )
    except OSError as exc:
        msg = f"cannot resume from report {path}: {exc.strerror or exc}"
        raise ReportError(msg) from None
    done = frozenset(
        name for name, (outcome, ok) in last.items() if _finished(outcome, verify_email, ok)
    )
    place = places[-1] if places else None
    return ResumeState(done, lines, keep, size, (info.st_dev, info.st_ino), last, place)


def _read_results(
    file: BinaryIO,
    path: Path,
    run: tuple[str, bool],
    last: dict[str, tuple[Outcome, bool]],
    places: list[Place],
) -> tuple[int, int, int]:
    """Fill ``last`` and ``places`` (the places named, each once); the lines read, where they
    end, and where the file ends. ``run``: the pool id and ``verify_email``."""
    user_pool_id, verify_email = run
    lines = keep = 0
    while raw := file.readline(MAX_LINE_BYTES + 1):
        if not raw.endswith(b"\n"):
            if len(raw) > MAX_LINE_BYTES:
                reason = f"line {lines + 1} is longer than {MAX_LINE_BYTES} bytes"
                raise _not_a_report(path, reason)
            if not _torn_line(raw):
                raise _not_a_report(path, f"line {lines + 1} is not one of its results")
            return lines, keep, keep + len(raw)  # that user is simply sent again
        record = _parse_line(raw)
        if record is None:
            raise _not_a_report(path, f"line {lines + 1} is not one of its results")
        _check_pool(record, user_pool_id, path)
        _note_place(record, places, path)
        _settle(last, record, verify_email=verify_email)
        lines += 1
        keep += len(raw)
    return lines, keep, keep


def _not_a_report(path: Path, reason: str) -> ReportError:
    msg = (
        f"report {path} is not a cognito-confirm report ({reason}): --resume appends only to "
        "an earlier run's report; the file was left as it is"
    )
    return ReportError(msg)


def _parse_line(raw: bytes) -> dict[str, object] | None:
    """The record on a complete line, if it has every report key with its type."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    for key, types in _FIELD_TYPES.items():
        if key not in record or not isinstance(record[key], types):
            return None
    return record if record["outcome"] in _OUTCOMES else None


def _torn_line(raw: bytes) -> bool:
    """Whether a last line without its newline is the start of a line the writer was writing.

    A whole JSON object there was not cut short: it must then be a complete result.
    """
    if not (raw.startswith(_LINE_START) or _LINE_START.startswith(raw)):
        return False
    try:
        json.loads(raw)
    except ValueError:
        return True
    return _parse_line(raw) is not None


def _check_pool(record: Mapping[str, object], user_pool_id: str, path: Path) -> None:
    if record.get("user_pool_id") != user_pool_id:
        msg = (
            f"report {path} holds results for user pool {record.get('user_pool_id')}, "
            f"not {user_pool_id}: give this run its own --report"
        )
        raise ReportError(msg)


def _note_place(record: Mapping[str, object], places: list[Place], path: Path) -> None:
    """A line's place, if it names one; two places in one report cannot be resumed."""
    if "endpoint" not in record:
        return  # a 0.1.0 line
    region, endpoint = record.get("region"), record.get("endpoint")
    if not isinstance(region, str | None) or not isinstance(endpoint, str | None):
        raise _not_a_report(path, "a line's region or endpoint is not text")
    place = Place(region, endpoint)
    if places and places[-1] != place:
        msg = (
            f"report {path} holds results from two places ({places[-1].describe()} and "
            f"{place.describe()}): give this run its own --report"
        )
        raise ReportError(msg)
    if not places:
        places.append(place)


def _settle(
    last: dict[str, tuple[Outcome, bool]], record: Mapping[str, object], *, verify_email: bool
) -> None:
    """Apply one line: the last line that says something about a user wins."""
    outcome = Outcome(str(record["outcome"]))
    if outcome in _SAYS_NOTHING:
        return
    ok = outcome.ok
    if verify_email and outcome in _NEEDS_EMAIL:
        ok = record.get("email_verified") is True
    last[str(record["username"])] = (outcome, ok)


def _finished(outcome: Outcome, verify_email: bool, ok: bool) -> bool:
    """Not to be sent again: anything but ``failed``, and with ``verify_email`` its email too."""
    if verify_email and outcome in _NEEDS_EMAIL:
        return ok
    return outcome is not Outcome.FAILED


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
            raise _exists(path) from None
        except OSError as exc:
            msg = f"cannot create report {path}: {exc.strerror or exc}"
            raise ReportError(msg) from None
        _lock(fd)  # just created: nobody else can hold it yet
        return cls(path, fd, created=True)

    @staticmethod
    def refuse_existing(path: Path) -> None:
        """Refuse early, before anything is sent, a new report's path that is taken already
        (``create`` refuses it too, atomically, for a file created in between)."""
        if os.path.lexists(path):
            raise _exists(path)

    @classmethod
    def resume(cls, path: Path, state: ResumeState) -> ReportWriter:
        """Append to the report ``state`` was read from, cutting off a last line cut short.

        Refused if the file is no longer the one read, or has changed since (another run?).
        """
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | _OPEN_FLAGS)
        except OSError as exc:
            msg = f"cannot append to report {path}: {exc.strerror or exc}"
            raise ReportError(msg) from None
        info = os.fstat(fd)
        if not _lock(fd):
            os.close(fd)
            msg = f"report {path} is being written by another run; it was left as it is"
            raise ReportError(msg)
        if (info.st_dev, info.st_ino) != state.file_id or info.st_size != state.size:
            os.close(fd)
            msg = (
                f"report {path} changed after it was read (is another run writing it?); "
                "it was left as it is"
            )
            raise ReportError(msg)
        if info.st_size > state.keep_bytes:
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


def _exists(path: Path) -> ReportError:
    msg = (
        f"report {path} already exists: pass --resume to continue that run, "
        "or give another --report"
    )
    return ReportError(msg)


def _lock(fd: int) -> bool:
    """Lock the report for this run (released when it ends, even by ``kill -9``), so that a
    second run resuming the same report while this one writes it is refused. False if taken;
    always True where ``fcntl`` does not exist (Windows)."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
