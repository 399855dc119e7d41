"""Issue 16's figures, computed in this one place from what a run counted, and its targets.

The tables, the targets and the JSON all read a ``Figures``; none divides counts itself, so a
figure cannot mean one thing in the table and another in the JSON. A figure that does not apply
to a run (no spikes, no growth, no live traffic) is None, printed "-" and written null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .live import LiveCounts

QUOTA: Final = 50.0
"""Cognito's default UserCreation quota, requests per second (the fake's bucket holds as many)."""
PACE: Final = 40.0
"""The library's default pace: 0.8 of the default quota."""

LIVE_MAX: Final = 0.01
"""Share of all live sign-ups throttled, at most (spikes, processes)."""
SPIKE_MAX: Final = 0.02
"""Share of the live sign-ups inside spikes throttled, at most."""
SPIKE_ROOM_MIN: Final = 0.75
"""Migration rate over the capacity live traffic leaves on average, at least (spikes)."""
AFTER_GROWTH_MAX: Final = 0.01
"""Share of the live sign-ups after the growth throttled, at most."""
PACE_MIN: Final = 0.9
"""Rate over the pace with slow calls and no concurrency given, at least."""
PROCESSES_ROOM_MIN: Final = 0.85
"""Total rate of several processes over the 30/s live 20/s leaves, at least."""
ROOM_MIN: Final = 0.85
"""Migration rate over what steady live traffic leaves, at least (scenario 5's target; slow
calls beside live traffic)."""


@dataclass(frozen=True, slots=True)
class Figures:
    """What a run's counts mean.

    Attributes:
        per_second: Users the fake confirmed per second of wall time (all processes together).
        of_room: ``per_second`` over the capacity live traffic leaves on average (the quota
            less the live shape's mean rate over the run), or None without live traffic.
        of_pace: ``per_second`` over the library's default pace (40/s).
        calls_throttled: Share of the migration's AdminConfirmSignUp calls throttled.
        live_throttled: Share of all live sign-ups throttled, or None without live traffic.
        spike_throttled: Share of the live sign-ups sent inside spikes throttled, or None.
        after_growth_throttled: Share of those sent after the growth throttled, or None.
    """

    per_second: float
    of_room: float | None
    of_pace: float
    calls_throttled: float
    live_throttled: float | None
    spike_throttled: float | None
    after_growth_throttled: float | None


def figures(
    *, confirmed: int, elapsed: float, calls: int, throttled: int, live: LiveCounts, room: float
) -> Figures:
    """The figures of one run; ``room`` is the quota less the mean live rate (see ``of_room``)."""
    per_second = confirmed / elapsed if elapsed > 0 else 0.0
    return Figures(
        per_second=per_second,
        of_room=per_second / room if live.sent and room > 0 else None,
        of_pace=per_second / PACE,
        calls_throttled=_share(throttled, calls) or 0.0,
        live_throttled=_share(live.throttled, live.sent),
        spike_throttled=_share(live.spike_throttled, live.spike_sent),
        after_growth_throttled=_share(live.after_throttled, live.after_sent),
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(share: float | None) -> str:
    """A share as printed in a table: ``1.23%``, or ``-`` when it does not apply."""
    return "-" if share is None else f"{share:.2%}"


def ratio(value: float | None) -> str:
    """A ratio as printed in a table: ``0.876``, or ``-`` when it does not apply."""
    return "-" if value is None else f"{value:.3f}"
