"""What a pace's path says about the capacity that refused it (``_pace`` judges its probes so).

A pace is a function of time; between a probe's start and its refusal it sent calls beyond
some capacity, and a token bucket of a known burst lets through that many in excess before it
refuses. These two measure that path.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["excess", "least_capacity"]

STEPS = 64
"""Intervals the path is summed over (a probe grows smoothly: 64 are exact to a call)."""


def excess(rate_at: Callable[[float], float], capacity: float, start: float, end: float) -> float:
    """Calls paced by ``rate_at`` between ``start`` and ``end`` beyond ``capacity`` a second."""
    step = (end - start) / STEPS
    if step <= 0:
        return 0.0
    rates = (rate_at(start + (i + 0.5) * step) for i in range(STEPS))
    return step * sum(max(0.0, rate - capacity) for rate in rates)


def least_capacity(
    rate_at: Callable[[float], float], start: float, end: float, burst: float
) -> float:
    """The least capacity under which the path could have emptied a ``burst``-sized bucket.

    A lower bound of the true capacity, as long as the quota's burst is no larger.
    """
    low, high = 0.0, rate_at(end)
    for _ in range(24):
        middle = (low + high) / 2
        if excess(rate_at, middle, start, end) > burst:
            low = middle
        else:
            high = middle
    return low
