"""Which failures are worth another call, and how long to wait before it."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._errors import (
    CognitoConfirmError,
    InternalServerError,
    LimitExceededError,
    ThrottledError,
    TransportError,
)

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The only retry layer: botocore's own retries are switched off so the two never multiply.

    Retried: throttling, ``InternalErrorException`` and other 5xx answers, dropped connections
    and timeouts, each with full-jitter exponential backoff. ``LimitExceededException`` is retried
    at most ``limit_exceeded_attempts`` times since it can mean a daily limit. Everything else
    (unknown user, not authorized, invalid parameter, Lambda errors) is final at once.

    Attributes:
        max_attempts: Calls made for one user at most, the first included.
        base_delay: Seconds of the first backoff's upper bound; each retry doubles it.
        max_delay: The upper bound of any single backoff.
        limit_exceeded_attempts: Calls at most for a user answered ``LimitExceededException``.
    """

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 10.0
    limit_exceeded_attempts: int = 3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            msg = f"max_attempts must be at least 1, got {self.max_attempts}"
            raise ValueError(msg)
        if self.base_delay < 0 or self.max_delay < 0:
            msg = "backoff delays cannot be negative"
            raise ValueError(msg)

    def should_retry(self, error: CognitoConfirmError, attempts: int) -> bool:
        """Whether a user whose latest of ``attempts`` calls failed with ``error`` gets another."""
        if attempts >= self.max_attempts:
            return False
        if isinstance(error, LimitExceededError):
            return attempts < self.limit_exceeded_attempts
        return isinstance(error, ThrottledError | InternalServerError | TransportError)

    def backoff(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed call (full jitter, capped)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        # Jitter only spreads retries in time; it does not need a secure generator.
        return (rng or random).uniform(0, ceiling)
