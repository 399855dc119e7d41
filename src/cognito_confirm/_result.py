"""What happened to each user: ``Outcome``, ``ConfirmResult`` and a whole run's ``BulkReport``."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["BulkReport", "ConfirmResult", "Outcome"]


class Outcome(enum.StrEnum):
    """How one user's confirmation ended."""

    CONFIRMED = "confirmed"
    """Cognito confirmed the user now."""
    ALREADY_CONFIRMED = "already_confirmed"
    """The user was confirmed before: the goal is met, so this is a success too."""
    NOT_FOUND = "not_found"
    """No such user in the pool."""
    NOT_CONFIRMABLE = "not_confirmable"
    """The user's status (e.g. FORCE_CHANGE_PASSWORD) cannot be confirmed by an administrator."""
    INVALID = "invalid"
    """The username fails botocore's model; nothing was sent."""
    DUPLICATE = "duplicate"
    """Not sent: the same username came earlier in the input, and that item has its own result."""
    SKIPPED = "skipped"
    """Not sent: the run's skip check said so (e.g. the command line's resume: done before)."""
    FAILED = "failed"
    """Any other error, or a transient one that outlasted the retry budget."""

    @property
    def ok(self) -> bool:
        """True for the outcomes that leave nothing to do."""
        return self in _OK_OUTCOMES


_OK_OUTCOMES = frozenset(
    {Outcome.CONFIRMED, Outcome.ALREADY_CONFIRMED, Outcome.DUPLICATE, Outcome.SKIPPED}
)


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    """The result of confirming one user.

    Attributes:
        username: The user (left out of ``repr()``: usernames are personal data).
        outcome: How it ended.
        error_code: The Cognito error code behind the outcome, if any (``"UserNotFoundException"``,
            or ``"NotAuthorizedException"`` for an already confirmed user).
        message: Cognito's message, or why the input was invalid, a duplicate or skipped
            (``"already confirmed"`` for an already confirmed user).
        attempts: How many AdminConfirmSignUp calls were made for this user (0 if none).
        elapsed: Seconds from the first attempt to the result, backoff included.
        index: The user's position in the input, counting from 0.
        user_status: The user's status when Cognito named it (e.g. ``"FORCE_CHANGE_PASSWORD"``).
        request_id: The AWS request id of the last call.
    """

    username: str = field(repr=False)
    outcome: Outcome
    error_code: str | None = None
    message: str | None = None
    attempts: int = 0
    elapsed: float = 0.0
    index: int = 0
    user_status: str | None = None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is left to do for this user."""
        return self.outcome.ok


@dataclass(frozen=True, slots=True)
class BulkReport:
    """The results of a bulk run, in input order.

    Attributes:
        results: One result per input item, in input order.
        counts: How many results ended with each outcome (every outcome is a key).
        elapsed: Seconds the run took.
    """

    results: tuple[ConfirmResult, ...]
    counts: Mapping[Outcome, int]
    elapsed: float

    @classmethod
    def from_results(cls, results: Iterable[ConfirmResult], elapsed: float) -> BulkReport:
        """Build a report from results in any order."""
        ordered = tuple(sorted(results, key=lambda result: result.index))
        tally = Counter(result.outcome for result in ordered)
        counts = {outcome: tally.get(outcome, 0) for outcome in Outcome}
        return cls(results=ordered, counts=counts, elapsed=elapsed)

    @property
    def ok(self) -> bool:
        """True when every user ended confirmed, already confirmed, duplicate or skipped."""
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> tuple[ConfirmResult, ...]:
        """The results that still need attention."""
        return tuple(result for result in self.results if not result.ok)
