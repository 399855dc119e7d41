"""The one triage of input items: what happens to each before any call.

An item is invalid (not a username Cognito accepts), a duplicate of an earlier one, skipped
(``skip=``: in the command line, done in an earlier run), or sent. The bulk engine's producer
and the command line's ``--dry-run`` both ask ``Triage``, so a dry run counts what a run sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ._confirm import result_without_call
from ._result import ConfirmResult, Outcome
from ._validation import username_problem

__all__ = ["DUPLICATE_MESSAGE", "SkipCheck", "Triage"]

SkipCheck = Callable[[str], str | None]
"""Given a username, the reason to skip it (reported as ``skipped``), or None to send it."""

DUPLICATE_MESSAGE: Final = "duplicate of an earlier input item"


class Triage:
    """What happens to each input item before any call: invalid, duplicate, skipped, or sent.

    One per run, fed the items in input order: a later item with a name it let through is a
    duplicate. With ``case_sensitive=False`` (a pool whose ``UsernameConfiguration.CaseSensitive``
    is false), ``Alice`` after ``alice`` is one. Names fold with ``str.lower()``, not
    ``casefold()``, which maps ``ß`` to ``ss`` and could merge two users, leaving one unconfirmed;
    a spelling lower() misses costs only a call answered "already confirmed".
    """

    def __init__(self, skip: SkipCheck | None = None, *, case_sensitive: bool = True) -> None:
        self._skip = skip
        self._fold = not case_sensitive
        self._seen: set[str] = set()

    def __call__(self, index: int, name: object) -> ConfirmResult | None:
        """The result of an item that is not to be sent, or None to send it."""
        problem = username_problem(name)
        if problem is not None:
            return result_without_call(str(name), index, Outcome.INVALID, problem)
        assert isinstance(name, str)  # noqa: S101 - username_problem checked it
        key = name.lower() if self._fold else name
        if key in self._seen:
            return result_without_call(name, index, Outcome.DUPLICATE, DUPLICATE_MESSAGE)
        self._seen.add(key)
        reason = self._skip(name) if self._skip is not None else None
        if reason is not None:
            return result_without_call(name, index, Outcome.SKIPPED, reason)
        return None
