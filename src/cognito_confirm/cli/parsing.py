"""What a stream of bytes says as usernames: text lines or a CSV column, strictly.

Text input: one username per line, UTF-8 with or without a BOM, surrounding whitespace trimmed,
blank lines ignored. CSV input (``column``) is strict: the first row is the header, with no name
twice; every other row has as many cells as the header, or all of them blank (then it is
ignored); a quote left open, a row over more than ``MAX_ROW_LINES`` lines or a field over the
csv module's size limit (the usual sign of a stray quote) is an error naming the line where its
row starts. An empty cell in the column yields ``""``, which the engine reports ``invalid`` (so
every non-blank row gets a result). Usernames are never checked here: an invalid one goes
through to the engine, which reports it.

The reader of a pipe asks for ``whole_lines``: its last line must end with a newline (see
``inputs``). ``Fingerprint`` is how the two passes over a regular file are compared.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from typing import Final, Protocol

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_ROW_LINES",
    "Fingerprint",
    "InputError",
    "LineReader",
    "parse_usernames",
]

MAX_LINE_BYTES: Final = 64 * 1024
"""Longer lines are refused: no username is that long, so the file is not a list of them."""
MAX_ROW_LINES: Final = 10
"""A CSV row over more lines than this (quoted fields may hold line breaks) has a stray quote."""


class InputError(Exception):
    """The input cannot be read as usernames; the message is one line and quotes no username."""


class LineReader(Protocol):
    """What the parser reads: a binary file, or standard input's descriptor (``_FdLines``)."""

    def readline(self, size: int, /) -> bytes:
        """The next line, newline included, or its first ``size`` bytes; b"" at the end."""


def parse_usernames(
    stream: LineReader, *, label: str, column: str | None = None, whole_lines: bool = False
) -> Iterator[str]:
    """The usernames in a binary stream of text lines, or of CSV rows when ``column`` is given.

    Raises ``InputError`` for undecodable or overlong lines, a CSV without that column, or a
    malformed CSV (see the module doc); ``label`` names the input in those messages. With
    ``whole_lines`` (a pipe), a last line without its newline is an error too: cut short.
    """
    lines = _decoded_lines(stream, label, whole_lines=whole_lines)
    if column is None:
        return _text_usernames(lines)
    return _csv_usernames(lines, column, label)


def _decoded_lines(stream: LineReader, label: str, *, whole_lines: bool) -> Iterator[str]:
    """Decode line by line, so an error can name its line; the first line may carry a BOM."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            msg = f"{label}: line {number} is longer than {MAX_LINE_BYTES} bytes: not a username"
            raise InputError(msg)
        if whole_lines and not raw.endswith(b"\n"):
            msg = (
                f"{label}: the last line ({number}) ends without a newline, as when the writer "
                "stops mid-name: it was not sent"
            )
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
    reader = csv.reader(lines, strict=True)
    start = 1  # the line the row being read starts on
    try:
        header = next(reader, None)
        if header is None:
            msg = f"{label}: empty, expected a CSV header row with a {column!r} column"
            raise InputError(msg)
        position = _column_position(header, column, label)
        start = reader.line_num + 1
        for row in reader:
            if reader.line_num - start >= MAX_ROW_LINES:
                msg = (
                    f"{label}: CSV error at line {start}: the row starting there runs over "
                    f"{reader.line_num - start + 1} lines (a stray quote?)"
                )
                raise InputError(msg)
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    msg = (
                        f"{label}: CSV error at line {start}: {len(row)} cells where the "
                        f"header has {len(header)} (a stray comma or quote?)"
                    )
                    raise InputError(msg)
                yield row[position].strip()
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(_csv_problem(label, start, reader.line_num, exc)) from None


def _csv_problem(label: str, start: int, end: int, error: csv.Error) -> str:
    """Name the line where the broken row starts: a stray quote shows only lines later."""
    reason = str(error)
    if reason == "unexpected end of data":
        reason = "a quoted field opens in the row starting there and is never closed"
    elif "field limit" in reason:
        reason = (
            f"a field in the row starting there runs past {csv.field_size_limit()} characters "
            "(a stray quote?)"
        )
    elif end > start:
        reason += f", in the row from line {start} to {end}"
    return f"{label}: CSV error at line {start}: {reason}"


def _column_position(header: list[str], column: str, label: str) -> int:
    names = [name.strip() for name in header]
    _check_unique(names, column.strip(), label)
    if column.strip() in names:
        return names.index(column.strip())
    # The header's own names are not quoted: a file without a header has a user's data there.
    msg = (
        f"{label}: the CSV header has no {column!r} column "
        f"(its {len(header)} columns are matched exactly; the first row must be the header)"
    )
    raise InputError(msg)


def _check_unique(names: list[str], column: str, label: str) -> None:
    """Two columns of one name: which one holds the usernames is anyone's guess."""
    first: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if name and name in first:
            # Only the name asked for is quoted: the others may be a user's data.
            which = f"{column!r} columns" if name == column else "columns of the same name"
            msg = f"{label}: the CSV header has two {which} ({first[name]} and {number})"
            raise InputError(msg)
        first.setdefault(name, number)


class Fingerprint:
    """How many usernames a pass read, and a hash of them in order: two passes over one file
    agree unless it changed in between."""

    def __init__(self) -> None:
        self.count = 0
        self._hash = hashlib.blake2b(digest_size=16)

    def add(self, name: str) -> None:
        data = name.encode("utf-8", "surrogatepass")
        self._hash.update(len(data).to_bytes(4, "big") + data)
        self.count += 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fingerprint):
            return NotImplemented
        return self.count == other.count and self._hash.digest() == other._hash.digest()

    __hash__ = None  # type: ignore[assignment]  # mutable: not a dict key
