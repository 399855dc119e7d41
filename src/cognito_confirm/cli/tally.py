"""What a command-line run counts: users by outcome, emails verified, how it ended."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from .._clock import now as loop_time
from .._result import ConfirmResult, Outcome
from .report import EmailCheck

__all__ = ["RESUMED", "Tally"]

RESUMED: Final = "skipped (done before)"
"""How a run names ``skipped``: the command line skips only the users a resumed run finds done."""
_OUTCOME_ORDER: Final = (
    "confirmed",
    "already_confirmed",
    RESUMED,
    "duplicate",
    "not_found",
    "not_confirmable",
    "invalid",
    "failed",
)
_SAYS_NOTHING: Final = frozenset({Outcome.SKIPPED, Outcome.DUPLICATE})
"""Outcomes that leave a user's earlier result standing."""
_NOT_SENT: Final = (RESUMED, "duplicate", "invalid")
"""Labels of the users settled without a call to Cognito."""


@dataclass
class Tally:
    """What a run did, by outcome, for the progress bar, the summary and the exit code.

    Attributes:
        counts: Users by outcome label.
        emails_verified: Users whose email was marked verified (``--verify-email``).
        emails_failed: Users whose email could not be.
        signal: The signal that stopped the run, if one did.
        error: The setup or input error that ended the run early, if one did.
        elapsed: Seconds the run took.
        not_ok: Users of this run that need attention: not confirmed, or their email not
            verified.
        earlier: For a resumed run, every user's last result in the report (outcome, ok),
            kept up to date with this run's results: the whole migration's verdict, so that a
            user left ``not_found`` by an earlier leg, ``skipped`` in this one, still counts.
            None for a new report, whose every user has a result of this run.
    """

    counts: Counter[str] = field(default_factory=Counter)
    emails_verified: int = 0
    emails_failed: int = 0
    signal: int | None = None
    error: Exception | None = None
    elapsed: float = 0.0
    not_ok: int = 0
    earlier: dict[str, tuple[Outcome, bool]] | None = None
    _started: float = field(default_factory=loop_time, init=False, repr=False)

    def add(self, result: ConfirmResult, email: EmailCheck | None) -> None:
        """Count one user's result (and its email check)."""
        self.counts[_label(result)] += 1
        ok = result.ok
        if email is not None and email.verified is not None:
            self.emails_verified += email.verified
            self.emails_failed += not email.verified
            ok = ok and email.verified
        self.not_ok += not ok
        if self.earlier is not None and result.outcome not in _SAYS_NOTHING:
            self.earlier[result.username] = (result.outcome, ok)

    def report_counts(self) -> Counter[str] | None:
        """A resumed run's whole report: users by their last outcome (None for a new report)."""
        if self.earlier is None:
            return None
        return Counter(outcome.value for outcome, _ in self.earlier.values())

    @property
    def verdict_not_ok(self) -> int:
        """Users that need attention in the whole report: what the exit code says."""
        if self.earlier is None:
            return self.not_ok
        return sum(not ok for _, ok in self.earlier.values())

    @property
    def users(self) -> int:
        """How many users have a result."""
        return sum(self.counts.values())

    @property
    def sent(self) -> int:
        """How many of them were sent to Cognito (not skipped, duplicate or invalid)."""
        return self.users - sum(self.counts[label] for label in _NOT_SENT)

    @property
    def rate(self) -> float:
        """Users sent per second: skipped, duplicate and invalid ones cost no call, and a
        resumed run that skips most of its input would otherwise boast."""
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def brief(self) -> str:
        """The counts in a few words, for the progress bar."""
        return "  ".join(f"{label} {count}" for label, count in self.ordered())

    def ordered(self) -> list[tuple[str, int]]:
        """The non-zero counts, in a fixed order."""
        return [(label, self.counts[label]) for label in _OUTCOME_ORDER if self.counts[label]]

    def finish(self) -> None:
        """Stop the clock."""
        self.elapsed = loop_time() - self._started


def _label(result: ConfirmResult) -> str:
    return RESUMED if result.outcome is Outcome.SKIPPED else result.outcome.value
