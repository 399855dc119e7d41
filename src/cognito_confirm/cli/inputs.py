"""Where the command line's usernames come from: a text file, a CSV column or standard input.

Everything is streamed. A daemon thread parses the input and hands usernames over through a
bounded queue, so memory holds a couple of thousand names at most, and neither a slow disk nor a
slow pipe on standard input ever blocks the event loop. Why a daemon thread of our own rather
than ``anyio.to_thread`` for the reading: a read from a pipe can block forever, and anyio's
worker threads are not daemons, so one stuck in ``read()`` would keep the process alive after
Ctrl-C. The event loop side pulls from the queue in a worker thread only while it is empty and
then drains it without blocking, so a fast file costs one thread hop per thousand names while a
slow pipe's lines still go through one by one as they arrive.

Standard input is read with ``os.read`` on its file descriptor, not through ``sys.stdin``: a
daemon thread blocked inside a buffered reader holds that reader's lock, and an interpreter
exiting meanwhile (Ctrl-C, a setup error) aborts with "Fatal Python error:
_enter_buffered_busy" (exit 134) when it cannot take the lock to close standard input.

A regular file is checked whole before the first username is handed out (a second thread
parses it, counting the usernames for the progress bar), so a bad line anywhere in it stops
the run before anything is sent: a million lines take about a second. A pipe can only be
checked as it is read: an error there ends the input early, and the run stops after the users
already read.

The checking pass also fingerprints the usernames (their number and a hash), and the reading
pass does the same: a file truncated, emptied or rewritten while the run reads it (log
rotation, a re-export over the same path) ends the input with an error, so the run exits 2
rather than 0 with the rest never sent. A pipe, a FIFO or a device cannot be read twice, so
there the end is checked instead: a last line without its newline is what a writer that died
mid-name leaves (``alice`` of ``alice2024``, another real user), so it is refused as
incomplete, never sent, and the run ends with an error after the users before it. A regular
file may end without a newline: it is whole once checked.

The formats (text, CSV) are read by ``parsing``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Protocol, Self

import anyio

from .parsing import (
    MAX_LINE_BYTES,
    MAX_ROW_LINES,
    Fingerprint,
    InputError,
    LineReader,
    parse_usernames,
)

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_ROW_LINES",
    "STDIN",
    "FileSource",
    "InputError",
    "IterableSource",
    "parse_usernames",
]

STDIN: Final = "-"
_READ_SIZE: Final = 64 * 1024
_QUEUE_SIZE: Final = 1024
_BATCH_SIZE: Final = 1024
_PUT_TIMEOUT: Final = 0.1
"""How often the parsing thread, blocked on a full queue, checks whether the run has stopped."""
_JOIN_TIMEOUT: Final = 1.0


class _End:
    """Marks the end of the input in the queue."""


@dataclass(frozen=True, slots=True)
class _Failed:
    error: InputError


_END: Final = _End()
_Item = str | _End | _Failed


class IterableSource:
    """Usernames from memory (the demo's), with the interface the command line expects."""

    def __init__(self, usernames: Iterable[str]) -> None:
        names = list(usernames)
        self.total: int | None = len(names)
        self.error: InputError | None = None
        self._names = iter(names)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        await anyio.lowlevel.checkpoint()
        try:
            return next(self._names)
        except StopIteration:
            raise StopAsyncIteration from None

    def note_result(self) -> None:
        """Nothing to do: the list does not change as users are confirmed."""

    async def aclose(self) -> None:
        """Nothing to release."""


class FileSource:
    """Usernames from a file or standard input, parsed in a daemon thread (see the module doc).

    Use it as an async context manager, then iterate. ``start()`` checks a regular file whole
    and waits for the first usernames, so a missing CSV column or a bad line anywhere in a file
    is raised before anything is sent. An error later in a pipe ends the iteration early and is
    kept in ``error``: the users already read still get their results.

    Attributes:
        label: How messages name the input (its path, or "standard input").
        error: Why the input ended early, if it did.
        total: How many usernames a regular file holds, once it has been checked (None until
            then, and for a pipe).
    """

    def __init__(self, path: str, *, column: str | None = None) -> None:
        self.label = "standard input" if path == STDIN else path
        self.error: InputError | None = None
        self.total: int | None = None
        self._column = column
        self._stream, self._owned, regular = _open(path, self.label)
        self._whole_lines = not (regular or (path == STDIN and _stdin_is_a_file()))
        self._read: Fingerprint | None = None
        self._checked: Fingerprint | None = None
        self._queue: queue.Queue[_Item] = queue.Queue(_QUEUE_SIZE)
        self._pending: deque[str] = deque()
        self._ended = False
        self._stopping = threading.Event()
        self._threads = [self._thread(self._parse, "input")]
        self._checker: threading.Thread | None = None
        self._check_error: InputError | None = None
        if regular:
            self._checker = self._thread(lambda: self._check(path), "input check")
            self._threads.append(self._checker)
        for thread in self._threads:
            thread.start()

    def _thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        return threading.Thread(target=target, name=f"cognito-confirm {name}", daemon=True)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Check a regular file whole, then wait for the first usernames; raise the
        ``InputError`` if the file is bad anywhere, or a pipe at once."""
        if self._checker is not None:
            await anyio.to_thread.run_sync(self._checker.join, abandon_on_cancel=True)
            if self._check_error is not None:
                raise self._check_error
        if not self._pending and not self._ended:
            await self._fill()
        if self.error is not None and not self._pending:
            raise self.error

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if not self._pending and not self._ended:
            await self._fill()
        if self._pending:
            return self._pending.popleft()
        raise StopAsyncIteration

    def note_result(self) -> None:
        """Nothing to do: a file does not change as users are confirmed."""

    async def aclose(self) -> None:
        """Stop the threads; the parsing one closes the file itself (it may be reading it)."""
        self._stopping.set()
        # Wakes a worker thread left waiting on the queue by a cancelled __anext__.
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_END)
        if not self._owned:
            return  # a thread reading a silent pipe may never return: it is a daemon, let it be
        for thread in self._threads:
            await anyio.to_thread.run_sync(thread.join, _JOIN_TIMEOUT, abandon_on_cancel=True)

    async def _fill(self) -> None:
        # Abandoned on cancellation (Ctrl-C while a pipe is silent); aclose() wakes the thread.
        self._take(await anyio.to_thread.run_sync(self._queue.get, abandon_on_cancel=True))
        while not self._ended and len(self._pending) < _BATCH_SIZE:
            try:
                self._take(self._queue.get_nowait())
            except queue.Empty:
                return

    def _take(self, item: _Item) -> None:
        if isinstance(item, _End):
            self._ended = True
            self.error = self._changed()
        elif isinstance(item, _Failed):
            self.error = item.error
            self._ended = True
        else:
            self._pending.append(item)

    def _changed(self) -> InputError | None:
        """Whether the file read differs from the file checked (see the module doc)."""
        read, checked = self._read, self._checked
        if read is None or checked is None or read == checked:
            return None
        what = "different ones" if read.count == checked.count else f"{read.count} read"
        msg = (
            f"{self.label} changed while it was read ({checked.count} usernames when checked, "
            f"{what}: truncated or rewritten?); nothing after the users read was sent"
        )
        return InputError(msg)

    def _parse(self) -> None:
        """The parsing thread: usernames into the queue, then the end or the error."""
        fingerprint = Fingerprint()
        try:
            with contextlib.closing(self._stream) if self._owned else contextlib.nullcontext():
                for name in parse_usernames(
                    self._stream,
                    label=self.label,
                    column=self._column,
                    whole_lines=self._whole_lines,
                ):
                    fingerprint.add(name)
                    if not self._put(name):
                        return
        except InputError as error:
            self._put(_Failed(error))
        except OSError as exc:
            self._put(_Failed(_read_error(self.label, exc)))
        else:
            self._read = fingerprint  # before _END: the queue hands it over with it
            self._put(_END)

    def _put(self, item: _Item) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=_PUT_TIMEOUT)
            except queue.Full:
                continue
            return True
        return False

    def _check(self, path: str) -> None:
        """The checking thread: a second, quick pass over a regular file, counting usernames."""
        fingerprint = Fingerprint()
        try:
            with Path(path).open("rb") as stream:
                for name in parse_usernames(stream, label=self.label, column=self._column):
                    fingerprint.add(name)
                    if self._stopping.is_set():
                        return
        except InputError as error:
            self._check_error = error
            return
        except OSError as exc:
            self._check_error = _read_error(self.label, exc)
            return
        self._checked = fingerprint
        self.total = fingerprint.count


class _FdLines:
    """Lines read with ``os.read`` from a descriptor: no buffered reader, so no lock that an
    exiting interpreter could find held by a daemon thread (see the module doc)."""

    def __init__(self, fd: int, *, owned: bool) -> None:
        self._fd = fd
        self._owned = owned
        self._buffer = bytearray()
        self._at_end = False

    def readline(self, size: int, /) -> bytes:
        """The next line, or its first ``size`` bytes; as soon as the pipe has it."""
        while True:
            newline = self._buffer.find(b"\n", 0, size)
            if newline >= 0:
                return self._take(newline + 1)
            if len(self._buffer) >= size or self._at_end:
                return self._take(min(size, len(self._buffer)))
            chunk = os.read(self._fd, _READ_SIZE)
            self._at_end = not chunk
            self._buffer += chunk

    def _take(self, length: int) -> bytes:
        line = bytes(self._buffer[:length])
        del self._buffer[:length]
        return line

    def close(self) -> None:
        """Close the descriptor if it was opened here."""
        if self._owned:
            os.close(self._fd)


class _Closable(LineReader, Protocol):
    def close(self) -> None: ...


def _open(path: str, label: str) -> tuple[_Closable, bool, bool]:
    """What to read, whether we own (and must close) it, and whether it is a regular file."""
    if path == STDIN:
        return _stdin(), False, False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        msg = f"cannot read input {label}: {exc.strerror or exc}"
        raise InputError(msg) from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        msg = f"cannot read input {label}: Is a directory"
        raise InputError(msg)
    if stat.S_ISREG(mode):
        return os.fdopen(fd, "rb"), True, True
    return _FdLines(fd, owned=True), True, False  # a pipe or a device: read as it comes


def _stdin() -> _Closable:
    """Standard input's descriptor, or the in-memory stream standing in for it (a test's)."""
    buffer: BinaryIO | None = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return _FdLines(0, owned=False)  # no sys.stdin at all: reading fd 0 says why
    try:
        return _FdLines(buffer.fileno(), owned=False)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return buffer


def _stdin_is_a_file() -> bool:
    """Standard input redirected from a regular file (``< users.txt``): it may end unterminated."""
    try:
        return stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def _read_error(label: str, exc: OSError) -> InputError:
    return InputError(f"cannot read {label}: {exc.strerror or exc}")
