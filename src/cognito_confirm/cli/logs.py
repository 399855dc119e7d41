"""``-v`` and ``--debug``: the library's ``cognito_confirm`` logger, on standard error.

Only that logger is shown, never botocore's or aiobotocore's: at DEBUG those print every
request body (usernames and ``ClientMetadata``) and its signing details. The library logs
usernames at DEBUG only, so ``-v`` (INFO) shows none and ``--debug`` shows one per user.

While the progress bar is on screen, the lines go above it through its console (``route()``),
as the run's notes do; otherwise straight to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

import click

__all__ = ["LOGGER", "logging_to_stderr", "route"]

LOGGER: Final = "cognito_confirm"
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _echo(line: str) -> None:
    click.echo(line, err=True)


class _StderrHandler(logging.Handler):
    """Writes each record as one line through the current sink (stderr, or the bar)."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _sink[0](self.format(record))
        except Exception:  # noqa: BLE001 - logging must never end the run
            self.handleError(record)


_sink: list[Callable[[str], None]] = [_echo]
"""Where the lines go now: the first item (a list, so that ``route`` can swap it)."""


@contextmanager
def logging_to_stderr(level: int | None) -> Iterator[None]:
    """Show the ``cognito_confirm`` logger at ``level`` (None: leave logging as it is) inside
    the block; the logger's level and handlers are restored afterwards."""
    if level is None:
        yield
        return
    logger = logging.getLogger(LOGGER)
    handler = _StderrHandler(level)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextmanager
def route(sink: Callable[[str], None]) -> Iterator[None]:
    """Send the log lines to ``sink`` inside the block (the progress bar's console)."""
    previous = _sink[0]
    _sink[0] = sink
    try:
        yield
    finally:
        _sink[0] = previous
