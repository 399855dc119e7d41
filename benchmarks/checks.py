"""What every scenario's targets are checked into: one line each in the printed report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """One of the issue's targets, what was measured, and whether it was met.

    Attributes:
        number: The scenario it belongs to.
        target: What the numbers should reach.
        measured: What they reached.
        met: Whether that is enough.
    """

    number: int
    target: str
    measured: str
    met: bool
