"""Input readers: text and CSV usernames, streamed from a file or a pipe, with one-line errors."""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from cognito_confirm.cli.inputs import (
    MAX_LINE_BYTES,
    MAX_ROW_LINES,
    FileSource,
    InputError,
    IterableSource,
    parse_usernames,
)


def parse(data: bytes, column: str | None = None) -> list[str]:
    return list(parse_usernames(io.BytesIO(data), label="in.txt", column=column))


def test_text_lines_are_trimmed_and_blank_lines_dropped() -> None:
    """A BOM, CRLF endings, surrounding spaces and blank lines do not reach the usernames."""
    data = "\ufeffalice\r\n  bob  \n\n   \n\tcarol\nlast-without-newline".encode()
    assert parse(data) == ["alice", "bob", "carol", "last-without-newline"]


def test_invalid_names_go_through_unchanged() -> None:
    """Control characters, inner spaces and overlong names are left for the engine to report."""
    names = ["a\x07b", "two words", "x" * 129, "\u00e9l\u00e8ve"]
    assert parse("\n".join(names).encode()) == names


def test_undecodable_line_names_its_line() -> None:
    """Bytes that are not UTF-8 raise an InputError naming the line, not quoting it."""
    with pytest.raises(InputError, match=r"in\.txt: line 3 is not valid UTF-8 \(byte 2\)"):
        parse(b"alice\nbob\nx\xffsecret\n")


def test_overlong_line_is_refused() -> None:
    """A line longer than any username could be is an error rather than a memory hog."""
    with pytest.raises(InputError, match="line 2 is longer than"):
        parse(b"alice\n" + b"x" * (MAX_LINE_BYTES + 1) + b"\n")


def test_csv_column_is_read_by_header_name() -> None:
    """The named column is taken, trimmed; blank rows are dropped, empty cells kept as ''."""
    data = (
        '\ufeffid, email ,username\r\n1,a@x,"alice"\r\n\r\n,,\n2,"b\nwith newline", bob \n3,c@x,\n'
    ).encode()
    assert parse(data, column="username") == ["alice", "bob", ""]
    assert parse(data, column="email") == ["a@x", "b\nwith newline", "c@x"]


def test_csv_missing_column_does_not_quote_the_header() -> None:
    """The error names the column asked for, never the header's cells (maybe a user's data)."""
    with pytest.raises(InputError) as caught:
        parse(b"alice@example.com,Alice\n", column="username")
    message = str(caught.value)
    assert "'username'" in message
    assert "2 columns" in message
    assert "alice" not in message


def test_csv_empty_file_and_malformed_rows_are_errors() -> None:
    """An empty CSV, or a row the csv module rejects, is a one-line InputError."""
    with pytest.raises(InputError, match="empty"):
        parse(b"", column="username")
    with pytest.raises(InputError, match="CSV error at line 2: new-line character"):
        parse(b"username\nsecret\rname\n", column="username")


def stray_quote_csv(rows: int, at: int, filler: str = "x") -> bytes:
    """A CSV of ``rows`` users whose row ``at`` (counted from 1, the header being line 1) has
    an opening quote and no closing one: the issue's ``user000010,"O'Brien``."""
    lines = ["username,name"]
    lines += [
        f"user{n:06d},\"O'Brien" if n + 2 == at else f"user{n:06d},{filler}" for n in range(rows)
    ]
    return "".join(f"{line}\n" for line in lines).encode()


def test_csv_unterminated_quote_names_its_line() -> None:
    """Issue 11 case 2: a stray quote on line 12 of 101 is an error naming line 12, not 11 users."""
    with pytest.raises(InputError, match=r"line 12: a quoted field opens .* never closed"):
        parse(stray_quote_csv(100, at=12), column="username")


def test_csv_stray_quote_past_the_field_limit_names_its_line() -> None:
    """A stray quote followed by more than the csv field limit names the quote's line."""
    data = stray_quote_csv(3000, at=12, filler="x" * 60)
    assert len(data) > csv.field_size_limit()
    with pytest.raises(InputError, match="line 12: a field in the row starting there runs past"):
        parse(data, column="username")


def test_csv_stray_quote_closed_later_is_caught() -> None:
    """A stray quote closed by another one lines later: too many lines, or cells, for one row."""
    long_row = b'username,name\na,"x\n' + b"b,y\n" * MAX_ROW_LINES + b'c,z"\nd,w\n'
    with pytest.raises(InputError, match="line 2: the row starting there runs over 12 lines"):
        parse(long_row, column="username")
    shifted = b'username,name\na,"x\nb,y"\nc,z\n'  # closes within the row limit
    assert parse(shifted, column="username") == ["a", "c"]  # a legal multi-line cell
    extra = b'username,name\na,"x\nb",y\nc,z\n'
    with pytest.raises(InputError, match="line 2: 3 cells where the header has 2"):
        parse(extra, column="username")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"username,name\na,b,c\n", "line 2: 3 cells where the header has 2"),
        (b"username,name\na\n", "line 2: 1 cells where the header has 2"),
        (b'username,name\n\na,"b"c\n', "line 3: ',' expected after '\"'"),
        (
            b'username,name\na,"b\nc"d\n',
            "line 2: ',' expected after '\"', in the row from line 2 to 3",
        ),
    ],
)
def test_csv_malformed_row_names_its_line(data: bytes, message: str) -> None:
    """A row with the wrong number of cells, or a quote mid-field, is an error naming its line."""
    with pytest.raises(InputError, match=re.escape(message)):
        parse(data, column="username")


def test_csv_duplicate_header_names_are_errors() -> None:
    """email,email: which column is meant is a guess, so it is an error; other names unquoted."""
    with pytest.raises(InputError, match=r"two 'email' columns \(1 and 2\)"):
        parse(b"email,email\na@x,b@x\n", column="email")
    with pytest.raises(InputError) as caught:
        parse(b"alice,alice,username\n1,2,3\n", column="username")
    assert "columns of the same name (1 and 2)" in str(caught.value)
    assert "alice" not in str(caught.value)
    assert parse(b"username,,\nbob,,\n", column="username") == ["bob"]  # blank names repeat


async def read_all(source: FileSource) -> list[str]:
    return [name async for name in source]


async def test_file_source_streams_a_file_and_counts_it(tmp_path: Path) -> None:
    """Every name arrives in order, and a second thread counts them for the progress total."""
    path = tmp_path / "users.txt"
    path.write_text("".join(f"user{n}\n\n" for n in range(3000)))
    async with FileSource(str(path)) as source:
        await source.start()
        names = await read_all(source)
        with anyio.fail_after(5):
            while source.total is None:  # noqa: ASYNC110 - a plain thread sets it
                await anyio.sleep(0.01)
    assert names == [f"user{n}" for n in range(3000)]
    assert source.total == 3000
    assert source.error is None


async def test_a_bad_line_deep_in_a_file_is_raised_before_any_username(tmp_path: Path) -> None:
    """A regular file is checked whole by start(): a bad line at 2,001 stops it before any name."""
    path = tmp_path / "users.txt"
    path.write_bytes(b"".join(b"user%d\n" % n for n in range(2000)) + b"\xff\n" + b"never\n")
    async with FileSource(str(path)) as source:
        with pytest.raises(InputError, match="line 2001 is not valid UTF-8"):
            await source.start()
    assert source.total is None


async def test_a_pipe_keeps_a_late_error_and_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pipe cannot be checked ahead: a bad line ends it after the good ones, keeping the error."""
    read_end, write_end = os.pipe()
    data = b"".join(b"user%d\n" % n for n in range(2000)) + b"\xff\n" + b"never\n"

    def write_and_close() -> None:
        os.write(write_end, data)
        os.close(write_end)

    writer = threading.Thread(target=write_and_close)
    writer.start()
    with os.fdopen(read_end, "rb") as reader:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        async with FileSource("-") as source:
            await source.start()
            with anyio.fail_after(5):
                names = await read_all(source)
    writer.join()
    assert len(names) == 2000
    assert source.error is not None
    assert "line 2001" in str(source.error)
    assert source.total is None


async def test_file_source_start_raises_an_immediate_error(tmp_path: Path) -> None:
    """A missing CSV column is raised by start(), before any username is handed out."""
    path = tmp_path / "users.csv"
    path.write_text("id,email\n1,a@x\n")
    async with FileSource(str(path), column="username") as source:
        with pytest.raises(InputError, match="no 'username' column"):
            await source.start()


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_input_is_an_input_error(tmp_path: Path, kind: str) -> None:
    """A missing file or a directory fails at once with the path and the reason."""
    path = tmp_path / "nope.txt" if kind == "missing" else tmp_path
    with pytest.raises(InputError, match="cannot read input"):
        FileSource(str(path))


async def test_stdin_pipe_lines_arrive_as_they_are_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slow pipe's first line is handed out before the writer has finished (no batching)."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb") as writer:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        source = FileSource("-")
        assert source.label == "standard input"
        writer.write(b"first\n")
        writer.flush()
        with anyio.fail_after(5):
            assert await source.__anext__() == "first"
        writer.write(b"second\n")
        writer.close()
        with anyio.fail_after(5):
            assert await read_all(source) == ["second"]
        await source.aclose()
        assert source.total is None


async def test_closing_while_a_pipe_is_silent_does_not_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelling a read from a silent pipe and closing the source returns promptly."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as reader, os.fdopen(write_end, "wb"):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        source = FileSource("-")
        with anyio.fail_after(5):
            with anyio.move_on_after(0.2):
                await source.__anext__()
            await source.aclose()
        parser = next(t for t in threading.enumerate() if t.name == "cognito-confirm input")
        assert parser.daemon  # left blocked in read() without keeping the process alive


async def test_iterable_source_hands_out_a_list() -> None:
    """The demo's in-memory source yields its names and knows their number."""
    source = IterableSource(["a", "b"])
    assert source.total == 2
    assert [name async for name in source] == ["a", "b"]
    source.note_result()
    await source.aclose()
    assert source.error is None


async def test_closing_early_stops_a_parser_held_back_by_a_full_queue(tmp_path: Path) -> None:
    """A run stopped early leaves no thread behind, even one waiting for room in the queue."""
    path = tmp_path / "users.txt"
    # 10,000: far more than the queue (1,024) and the batch taken from it (1,024) hold.
    path.write_text("".join(f"user{n}\n" for n in range(10_000)))
    source = FileSource(str(path))
    await source.start()
    assert await source.__anext__() == "user0"
    threads = list(source._threads)
    with anyio.fail_after(5):
        await source.aclose()
    assert not any(thread.is_alive() for thread in threads)
    assert source.total in (None, 10_000)


class BrokenStream(io.BytesIO):
    def readline(self, size: int | None = -1) -> bytes:
        raise OSError(errno.EIO, "Input/output error")


async def test_read_error_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An I/O error while reading is reported as a one-line InputError."""
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=BrokenStream()))
    async with FileSource("-") as source:
        with pytest.raises(InputError, match="cannot read standard input: Input/output error"):
            await source.start()


async def test_a_named_pipe_is_read_as_it_comes(tmp_path: Path) -> None:
    """--input FIFO (or /dev/stdin, <(...)): read from its descriptor, not checked ahead."""
    fifo = tmp_path / "users.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(b"alice\nbob\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        async with FileSource(str(fifo)) as source:
            await source.start()
            with anyio.fail_after(5):
                assert await read_all(source) == ["alice", "bob"]
    finally:
        writer.join()
    assert source.total is None


@pytest.mark.parametrize("change", ["truncated", "emptied", "rewritten"])
async def test_a_file_that_changes_while_it_is_read_ends_with_an_error(
    tmp_path: Path, change: str
) -> None:
    """Truncated, emptied or rewritten under the run: the names read so far, then an error."""
    path = tmp_path / "users.txt"
    path.write_text("".join(f"user{n:05}\n" for n in range(10_000)))  # 100,000 bytes
    async with FileSource(str(path)) as source:
        # Checked whole: 10,000. The reader holds two queues' worth at most (2 x 1,024 names,
        # 20 KB, plus its read buffer): it has not reached 60,000 bytes, let alone the end.
        await source.start()
        assert source.total == 10_000
        if change == "rewritten":  # same number of names, other ones, in place
            path.write_text("".join(f"other{n:04}\n" for n in range(10_000)))
        else:
            os.truncate(path, 0 if change == "emptied" else 60_000)
        with anyio.fail_after(5):
            names = await read_all(source)
    assert len(names) < 10_000 or change == "rewritten"
    assert source.error is not None
    message = str(source.error)
    assert "changed while it was read (10000 usernames when checked" in message
    assert "user0" not in message
    assert "other" not in message


async def test_a_file_read_whole_has_no_error(tmp_path: Path) -> None:
    """The fingerprint check does not fire on a file that stood still, unterminated or not."""
    path = tmp_path / "users.txt"
    path.write_text("a\nb\nlast-without-newline")
    async with FileSource(str(path)) as source:
        await source.start()
        assert await read_all(source) == ["a", "b", "last-without-newline"]
    assert source.error is None


async def test_a_pipe_cut_mid_name_sends_the_names_before_it_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A writer that dies mid-name leaves 'alice' of 'alice2024': refused, never handed out."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"bob\ncarol\nalice")
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        async with FileSource("-") as source:
            await source.start()
            with anyio.fail_after(5):
                names = await read_all(source)
    assert names == ["bob", "carol"]
    assert source.error is not None
    assert "line (3) ends without a newline" in str(source.error)
    assert "alice" not in str(source.error)


async def test_stdin_redirected_from_a_file_may_end_without_a_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``< users.txt`` is a regular file on descriptor 0: whole as it is, like --input FILE."""
    path = tmp_path / "users.txt"
    path.write_bytes(b"bob\nalice")
    with path.open("rb") as reader:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(reader))
        async with FileSource("-") as source:
            await source.start()
            with anyio.fail_after(5):
                assert await read_all(source) == ["bob", "alice"]
    assert source.error is None


def test_a_stream_must_end_with_a_newline_when_asked() -> None:
    """parse_usernames(whole_lines=True) refuses an unterminated last line, CSV too."""
    stream = io.BytesIO(b"username\nbob\nal")
    names = parse_usernames(stream, label="in", column="username", whole_lines=True)
    assert next(names) == "bob"
    with pytest.raises(InputError, match="line \\(3\\) ends without a newline"):
        next(names)
