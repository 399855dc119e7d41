"""What every scenario's targets are checked into (one line each in the printed report), and
the plain-text table every scenario prints: the bottom of ``benchmarks/``, importing none of it."""

from __future__ import annotations

from collections.abc import Sequence
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


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join((first, *rest)).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def render_targets(checks: Sequence[TargetCheck]) -> str:
    """The targets' lines of the printed report."""
    lines = ["Targets (printed, not asserted)"]
    for check in checks:
        verdict = "met" if check.met else "MISSED"
        lines.append(f"  {check.number}. {verdict:<6} {check.target}: {check.measured}")
    return "\n".join(lines)
