"""Outages and foreign answers on demand: what the fake does instead of answering as Cognito.

Why: a bulk run has to tell three things apart that all look like "the call failed". Cognito
saying no about *this user* is a result. An answer that is not from Cognito at all (a proxy's
HTML page, a captive portal's HTTP 200, a wrong endpoint), or an error no user can get past
(``ExpiredToken``, an unknown code at HTTP 403), dooms the run. Nothing answering (an outage)
is neither: the run should wait. A test can only show the difference with an endpoint that
turns into each of these in the middle of a run, so the fake can, after ``N`` more calls, for
``S`` seconds or until healed:

- *take over*: answer every Cognito call with one canned reply, an AWS-shaped error of any
  code and status (with a request id, as AWS sends) or any page at all (by default HTML
  without ``x-amzn-RequestId``, as a proxy sends);
- *go dark*: ``refuse`` connections (the listening socket is closed, so connecting fails at
  once, and open connections are closed), ``drop`` every request (accept it, close without a
  byte of answer), or ``hang`` (accept it and answer nothing until the dark period ends, then
  close, so a client without a read timeout waits exactly that long).

One fault at a time: setting one replaces the last, and ``heal()`` ends it. The ``/_fake/``
admin endpoints are never affected (except that a refusing fake refuses them too).
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Literal, get_args

if TYPE_CHECKING:
    from ._stats import FakeStats

__all__ = [
    "AMZ_JSON",
    "DARK_MODES",
    "HTML",
    "Answer",
    "DarkMode",
    "Faults",
    "aws_error_answer",
    "page_answer",
]

DarkMode = Literal["refuse", "drop", "hang"]
"""How a dark fake fails: refuse connections, drop requests, or hang on them."""
DARK_MODES: Final = frozenset(get_args(DarkMode))

AMZ_JSON: Final = "application/x-amz-json-1.1"
HTML: Final = "text/html; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Answer:
    """A canned reply that takes the place of Cognito's (a fresh request id added if asked)."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    request_id: bool = False


def aws_error_answer(code: str, status: int, message: str | None) -> Answer:
    """An AWS JSON 1.1 error of any code, as AWS (or Cognito) would send it."""
    _check_status(status)
    body = json.dumps({"__type": code, "message": message or f"Injected {code}"}).encode()
    return Answer(status, body, AMZ_JSON, (("x-amzn-ErrorType", code),), request_id=True)


def page_answer(status: int, body: str | None, content_type: str, request_id: bool) -> Answer:
    """Any page, by default the HTML a proxy or a wrong endpoint answers with."""
    _check_status(status)
    if body is None:
        phrase = HTTPStatus(status).phrase
        body = (
            f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
            f"<body><h1>{phrase}</h1><hr><p>nginx</p></body></html>"
        )
    return Answer(status, body.encode(), content_type, request_id=request_id)


def _check_status(status: int) -> None:
    if status not in HTTPStatus._value2member_map_:
        raise ValueError(f"unknown HTTP status {status}")


@dataclass(slots=True)
class _Fault:
    what: Answer | DarkMode
    countdown: int
    seconds: float | None
    until: float | None = None
    started: bool = False


class Faults:
    """The fault in force, if any, and what it did; thread-safe (the test thread sets it while
    the server's loop consults it).

    Attributes:
        dark_requests: Requests that arrived while dark (dropped or held, never answered).
        taken_over: Cognito calls answered by a takeover.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._fault: _Fault | None = None
        self.dark_requests = 0
        self.taken_over = 0

    def set(self, what: Answer | DarkMode, *, after: int = 0, seconds: float | None = None) -> None:
        """Start ``what`` once ``after`` more Cognito calls were served as usual, for ``seconds``
        from then (None: until ``heal()``)."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a number of calls >= 0, not {after!r}")
        if seconds is not None and not (seconds >= 0 and math.isfinite(seconds)):
            raise ValueError(f"seconds must be >= 0 and finite, or None, not {seconds!r}")
        if not isinstance(what, Answer) and what not in DARK_MODES:
            raise ValueError(f"mode must be one of {sorted(DARK_MODES)}, not {what!r}")
        fault = _Fault(what, after, seconds)
        with self._lock:
            if after == 0:
                self._start(fault, self._clock())
            self._fault = fault

    def heal(self) -> None:
        """End the fault in force (or the one waiting for its calls)."""
        with self._lock:
            self._fault = None

    def on_request(self) -> Answer | DarkMode | None:
        """What to do with a Cognito call arriving now: None to serve it as Cognito would."""
        with self._lock:
            fault = self._current(self._clock())
            if fault is None:
                return None
            if not fault.started:
                if fault.countdown > 0:
                    fault.countdown -= 1
                    return None
                self._start(fault, self._clock())
            if isinstance(fault.what, Answer):
                self.taken_over += 1
            else:
                self.dark_requests += 1
            return fault.what

    def dark(self) -> tuple[DarkMode | None, float | None]:
        """The dark mode in force (None: none) and when it ends (None: not by itself)."""
        with self._lock:
            fault = self._current(self._clock())
            if fault is None or not fault.started or isinstance(fault.what, Answer):
                return None, None
            return fault.what, fault.until

    def stamped(self, stats: FakeStats) -> FakeStats:
        """``stats`` with this object's counts."""
        with self._lock:
            dark, taken = self.dark_requests, self.taken_over
        return dataclasses.replace(stats, dark_requests=dark, taken_over=taken)

    def reset_counts(self) -> None:
        with self._lock:
            self.dark_requests = self.taken_over = 0

    def _start(self, fault: _Fault, now: float) -> None:
        fault.started = True
        fault.until = None if fault.seconds is None else now + fault.seconds

    def _current(self, now: float) -> _Fault | None:
        fault = self._fault
        if fault is not None and fault.until is not None and now >= fault.until:
            self._fault = fault = None
        return fault
