"""Where the command line's usernames come from: a text file, a CSV column or standard input.

Everything is streamed. A daemon thread parses the input and hands usernames over through a
bounded queue, so memory holds a couple of thousand names at most, and neither a slow disk nor a
slow pipe on standard input ever blocks the event loop. Why a daemon thread of our own rather
than ``anyio.to_thread`` for the reading: a read from a pipe can block forever, and anyio's
worker threads are not daemons, so one stuck in ``read()`` would keep the process alive after
Ctrl-C. The event loop side pulls from the queue in a worker thread only while it is empty and
then drains it without blocking, so a fast file costs one thread hop per thousand names while a
slow pipe's lines still go through one by one as they arrive.

Text input: one username per line, UTF-8 with or without a BOM, surrounding whitespace trimmed,
blank lines ignored. CSV input (``column``): the first row is the header; rows whose cells are
all blank are ignored; a row with an empty cell in the column yields ``""``, which the engine
reports ``invalid`` (so every non-blank line gets a result). Lines are never checked here: an
invalid username goes through to the engine, which reports it.
"""

from __future__ import annotations

import contextlib
import csv
import os
import queue
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Self

import anyio

__all__ = ["STDIN", "FileSource", "InputError", "IterableSource", "parse_usernames"]

STDIN: Final = "-"
MAX_LINE_BYTES: Final = 64 * 1024
"""Longer lines are refused: no username is that long, so the file is not a list of them."""
_QUEUE_SIZE: Final = 1024
_BATCH_SIZE: Final = 1024
_PUT_TIMEOUT: Final = 0.1
"""How often the parsing thread, blocked on a full queue, checks whether the run has stopped."""
_JOIN_TIMEOUT: Final = 1.0


class InputError(Exception):
    """The input cannot be read as usernames; the message is one line and quotes no username."""


class _End:
    """Marks the end of the input in the queue."""


@dataclass(frozen=True, slots=True)
class _Failed:
    error: InputError


_END: Final = _End()
_Item = str | _End | _Failed


def parse_usernames(stream: BinaryIO, *, label: str, column: str | None = None) -> Iterator[str]:
    """The usernames in a binary stream of text lines, or of CSV rows when ``column`` is given.

    Raises ``InputError`` for undecodable or overlong lines, a CSV without that column, or a
    malformed CSV row; ``label`` names the input in those messages.
    """
    lines = _decoded_lines(stream, label)
    if column is None:
        return _text_usernames(lines)
    return _csv_usernames(lines, column, label)


def _decoded_lines(stream: BinaryIO, label: str) -> Iterator[str]:
    """Decode line by line, so an error can name its line; the first line may carry a BOM."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            msg = f"{label}: line {number} is longer than {MAX_LINE_BYTES} bytes: not a username"
            raise InputError(msg)
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            msg = f"{label}: line {number} is not valid UTF-8 (byte {exc.start + 1})"
            raise InputError(msg) from None


def _text_usernames(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        name = line.strip()
        if name:
            yield name


def _csv_usernames(lines: Iterator[str], column: str, label: str) -> Iterator[str]:
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if header is None:
            msg = f"{label}: empty, expected a CSV header row with a {column!r} column"
            raise InputError(msg)
        position = _column_position(header, column, label)
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row[position].strip() if position < len(row) else ""
    except csv.Error as exc:
        msg = f"{label}: CSV error at line {reader.line_num}: {exc}"
        raise InputError(msg) from None


def _column_position(header: list[str], column: str, label: str) -> int:
    names = [name.strip() for name in header]
    if column.strip() in names:
        return names.index(column.strip())
    # The header's own names are not quoted: a file without a header has a user's data there.
    msg = (
        f"{label}: the CSV header has no {column!r} column "
        f"(its {len(header)} columns are matched exactly; the first row must be the header)"
    )
    raise InputError(msg)


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

    Use it as an async context manager, then iterate. ``start()`` waits for the first usernames,
    so a missing CSV column or an undecodable first line is raised before anything is sent.
    An error later in the input ends the iteration early and is kept in ``error``: the users
    already read still get their results.

    Attributes:
        label: How messages name the input (its path, or "standard input").
        error: Why the input ended early, if it did.
        total: How many usernames a regular file holds, once a second thread has counted them
            (None until then, and for standard input).
    """

    def __init__(self, path: str, *, column: str | None = None) -> None:
        self.label = "standard input" if path == STDIN else path
        self.error: InputError | None = None
        self.total: int | None = None
        self._column = column
        self._stream, self._owned = _open(path, self.label)
        self._queue: queue.Queue[_Item] = queue.Queue(_QUEUE_SIZE)
        self._pending: deque[str] = deque()
        self._ended = False
        self._stopping = threading.Event()
        self._threads = [self._thread(self._parse, "input")]
        if self._owned and _is_regular(self._stream):
            self._threads.append(self._thread(lambda: self._count(path), "input count"))
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
        """Wait for the first usernames; raise the ``InputError`` if the input fails at once."""
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
        elif isinstance(item, _Failed):
            self.error = item.error
            self._ended = True
        else:
            self._pending.append(item)

    def _parse(self) -> None:
        """The parsing thread: usernames into the queue, then the end or the error."""
        try:
            with self._stream if self._owned else contextlib.nullcontext():
                for name in parse_usernames(self._stream, label=self.label, column=self._column):
                    if not self._put(name):
                        return
        except InputError as error:
            self._put(_Failed(error))
        except OSError as exc:
            self._put(_Failed(InputError(f"cannot read {self.label}: {exc.strerror or exc}")))
        else:
            self._put(_END)

    def _put(self, item: _Item) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=_PUT_TIMEOUT)
            except queue.Full:
                continue
            return True
        return False

    def _count(self, path: str) -> None:
        """The counting thread: a second, quick pass over a regular file for the progress bar."""
        count = 0
        try:
            with Path(path).open("rb") as stream:
                for _ in parse_usernames(stream, label=self.label, column=self._column):
                    count += 1
                    if self._stopping.is_set():
                        return
        except (InputError, OSError):
            return  # the parsing thread reports the problem
        self.total = count


def _open(path: str, label: str) -> tuple[BinaryIO, bool]:
    """The binary stream to read and whether we own (and must close) it."""
    if path == STDIN:
        return sys.stdin.buffer, False
    try:
        return Path(path).open("rb"), True
    except OSError as exc:
        msg = f"cannot read input {label}: {exc.strerror or exc}"
        raise InputError(msg) from None


def _is_regular(stream: BinaryIO) -> bool:
    """A file on disk (worth counting), not a pipe or a device that can be read only once."""
    return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
