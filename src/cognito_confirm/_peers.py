"""The census: how many processes on this host are confirming users against one quota.

Several migration processes at once (a split input file, a Job with parallelism 4, one
migration per tenant pool) share the UserCreation quota of their account and region, and each
learned it from its own throttles alone. Simulated (``benchmarks.pacer_sim``, four processes
beside live 20/s): their four starts emptied the bucket in half a second; each saw a quarter of
the refusals, so the pace as a whole yielded a quarter at a time and probes overlapped; and when
one finished, the others found its room only by probing, at 5% a second. Counting them needs no
server: each bulk run holds an exclusive ``flock`` on a file of its own in a directory named
after the region and endpoint; a process that ends, even by ``kill -9``, loses its lock, and
the next count (every ``_ratelimit.CENSUS_EVERY`` s) removes its file. With the count
(``_pace.Pace.peers_changed``) each of N takes 1/N of the pace, of a probe's growth and of the
start's burst, so N starts take one start's pace and N probes grow as one; a process that ends
leaves its share to the others at once; and a process's cut for its own throttle is published
in its file, and the others cut too (``heard``: the bucket is dry for all), as one process does
at its first refusal. 40 seeds beside live 20/s, of the room and of live sign-ups throttled,
each on its own -> counted: 2 processes 0.910 -> 0.949 and 0.54% -> 0.29%; 4 processes 0.863
-> 0.930 and 0.85% -> 0.28%; 4 started 15 s apart 0.811 -> 0.946 and 0.75% -> 0.52%.

The directory is ``$COGNITO_CONFIRM_PEERS`` if set (``off`` turns the census off), else
``cognito-confirm-<uid>`` in the temporary directory (made with mode 0700); it must belong to
this user and be closed to others' writes, or the census stays off. Its files are named after a
process id and hold the number of cuts it published. Processes on other hosts are not counted:
they learn from throttles alone. Where ``fcntl`` does not exist (Windows), the census is off.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path
from typing import Final

if sys.platform != "win32":
    import fcntl

__all__ = ["ENVIRONMENT", "USER_CREATION", "USER_UPDATE", "Census", "census_directory", "census_of"]

logger = logging.getLogger("cognito_confirm")

ENVIRONMENT: Final = "COGNITO_CONFIRM_PEERS"
"""The environment variable that moves the census's directory, or turns it off (``off``)."""
SUFFIX: Final = ".peer"
"""A member's file, once locked (a file still being created has another name)."""
USER_CREATION: Final = "UserCreation"
"""The quota category of AdminConfirmSignUp (and SignUp): bulk runs count themselves in it."""
USER_UPDATE: Final = "UserUpdate"
"""The quota category of AdminUpdateUserAttributes (the command line's ``--verify-email``)."""
WIDTH: Final = 20
"""A member's file holds the cuts it made for its own throttles, in this many digits."""


def census_directory(region: str, endpoint: str, quota: str = USER_CREATION) -> Path | None:
    """Where the processes calling ``region`` and ``endpoint`` under the ``quota`` category
    count themselves, or None when the census is off (``COGNITO_CONFIRM_PEERS=off``, or no
    ``fcntl``)."""
    setting = os.environ.get(ENVIRONMENT, "")
    if setting.lower() == "off" or sys.platform == "win32":
        return None
    base = Path(setting) if setting else Path(tempfile.gettempdir()) / f"cognito-confirm-{_uid()}"
    key = f"{region}\n{endpoint}" + ("" if quota == USER_CREATION else f"\n{quota}")
    return base / hashlib.sha256(key.encode()).hexdigest()[:16]


def census_of(client: object, region: str, quota: str = USER_CREATION) -> Path | None:
    """``census_directory`` for an aiobotocore client's Region and endpoint (``region`` and
    no endpoint where a stand-in client's ``meta`` lacks them)."""
    meta = getattr(client, "meta", None)
    return census_directory(
        str(getattr(meta, "region_name", region)), str(getattr(meta, "endpoint_url", "")), quota
    )


def _uid() -> int:
    return os.getuid() if sys.platform != "win32" else 0


class Census:
    """This process's membership of a census directory: count the members, then leave.

    Use ``Census.join(directory)``, which returns None where the census cannot be kept (no
    ``fcntl``, a directory another user owns or can read, a file system that refuses).
    """

    def __init__(self, directory: Path, name: str, descriptor: int) -> None:
        self._directory = directory
        self._name = name
        self._descriptor: int | None = descriptor

    def __repr__(self) -> str:
        return f"<Census {self._directory} member={self._name}>"

    @property
    def name(self) -> str:
        """This member's file in the directory."""
        return self._name

    @classmethod
    def join(cls, directory: Path | None) -> Census | None:
        """Count this process among the members of ``directory`` until ``leave()``; None for
        no directory (the census is off, ``census_directory``)."""
        if directory is None or sys.platform == "win32":  # Windows: census_directory() is None
            return None
        try:
            _private_directory(directory.parent)
            _private_directory(directory)
            # Locked under a temporary name, then renamed: a count never sees a member's file
            # before its lock, so it never takes a new member for a dead one.
            name = f"{os.getpid()}-{secrets.token_hex(4)}"
            creating = directory / f".{name}"
            descriptor = os.open(creating, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError as error:
            logger.warning("not counting this process among its peers: %s", error)
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(creating, directory / f"{name}{SUFFIX}")
        except OSError as error:
            os.close(descriptor)
            with contextlib.suppress(OSError):
                creating.unlink()
            logger.warning("not counting this process among its peers: %s", error)
            return None
        return cls(directory, name + SUFFIX, descriptor)

    def count(self) -> tuple[int, int]:
        """The members alive now (this one included), and the cuts the others published; the
        files of dead members are removed."""
        if sys.platform == "win32":  # pragma: no cover - join() returned None there
            return 1, 0
        alive, cuts = 1, 0
        try:
            entries = os.listdir(self._directory)
        except OSError:
            return alive, cuts
        for entry in entries:
            if not entry.endswith(SUFFIX) or entry == self._name:
                continue
            path = self._directory / entry
            try:
                descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # gone meanwhile: it left
            try:
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                alive += 1  # locked: its process is alive
                cuts += _published(descriptor)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()  # its process ended without leaving (kill -9)
            finally:
                os.close(descriptor)
        return alive, cuts

    def publish(self, cuts: int) -> None:
        """Tell the others that this member cut its pace ``cuts`` times for its own throttles."""
        if self._descriptor is not None:
            with contextlib.suppress(OSError):
                os.pwrite(self._descriptor, f"{cuts:{WIDTH}d}".encode(), 0)

    def leave(self) -> None:
        """Stop counting this process; idempotent."""
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):
            (self._directory / self._name).unlink()
        os.close(self._descriptor)
        self._descriptor = None


def _published(descriptor: int) -> int:
    """The cuts a member's file says it made (0 before its first, or if unreadable)."""
    try:
        return int(os.pread(descriptor, WIDTH, 0) or b"0")
    except (OSError, ValueError):
        return 0


def _private_directory(directory: Path) -> None:
    """Make ``directory`` (mode 0700) unless it exists; refuse one others could write to."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    status = directory.lstat()
    if not stat.S_ISDIR(status.st_mode):
        msg = f"{directory} is not a directory"
        raise PermissionError(msg)
    if status.st_uid != _uid() or status.st_mode & 0o022:
        msg = f"{directory} must belong to this user, and others must not write to it"
        raise PermissionError(msg)
