"""The fake's counters, and the snapshot of them a test asserts on (``FakeStats``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Counters", "FakeStats"]


@dataclass(frozen=True)
class FakeStats:
    """A snapshot of what the fake saw, so a test can assert on the client's behaviour.

    ``confirmations`` is at most 1 per user by construction (only UNCONFIRMED -> CONFIRMED counts),
    so a client that confirms twice shows up in ``already_confirmed`` instead. ``throttled`` and
    ``internal_errors`` count answers of every action, injected or scripted with `fail()`;
    ``throttled_by_action`` splits ``throttled`` by action (``SignUp`` for live sign-ups).
    The times are ``time.monotonic()`` of the first/last AdminConfirmSignUp received.
    ``dark_requests`` counts requests that arrived while the fake was dark (dropped or held, and
    counted nowhere else); ``taken_over`` the Cognito calls a takeover answered (counted in
    ``requests`` and ``confirm_calls`` too, since they reached the endpoint).
    """

    requests: Mapping[str, int]
    confirm_calls: Mapping[str, int]
    confirmations: Mapping[str, int]
    already_confirmed: Mapping[str, int]
    throttled: int
    internal_errors: int
    dropped_before: int
    dropped_after: int
    max_in_flight: int
    first_request_at: float | None
    last_request_at: float | None
    throttled_by_action: Mapping[str, int] = field(default_factory=dict)
    dark_requests: int = 0
    taken_over: int = 0

    def summary(self) -> dict[str, object]:
        """Counts only (no per-user maps, which can hold a million entries), JSON-ready."""
        return {
            "requests": dict(self.requests),
            "confirm_calls_total": sum(self.confirm_calls.values()),
            "users_called": len(self.confirm_calls),
            "max_confirm_calls_per_user": max(self.confirm_calls.values(), default=0),
            "confirmations_total": sum(self.confirmations.values()),
            "max_confirmations_per_user": max(self.confirmations.values(), default=0),
            "already_confirmed_total": sum(self.already_confirmed.values()),
            "users_already_confirmed": len(self.already_confirmed),
            "throttled": self.throttled,
            "throttled_by_action": dict(self.throttled_by_action),
            "internal_errors": self.internal_errors,
            "dropped_before": self.dropped_before,
            "dropped_after": self.dropped_after,
            "max_in_flight": self.max_in_flight,
            "first_request_at": self.first_request_at,
            "last_request_at": self.last_request_at,
            "dark_requests": self.dark_requests,
            "taken_over": self.taken_over,
        }


@dataclass
class Counters:
    requests: Counter[str] = field(default_factory=Counter)
    confirm_calls: Counter[str] = field(default_factory=Counter)
    confirmations: Counter[str] = field(default_factory=Counter)
    already_confirmed: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    internal_errors: int = 0
    dropped_before: int = 0
    dropped_after: int = 0
    max_in_flight: int = 0
    first_request_at: float | None = None
    last_request_at: float | None = None
    throttled_by_action: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> FakeStats:
        def frozen(counter: Counter[str]) -> Mapping[str, int]:
            return MappingProxyType(dict(counter))

        return FakeStats(
            frozen(self.requests),
            frozen(self.confirm_calls),
            frozen(self.confirmations),
            frozen(self.already_confirmed),
            self.throttled,
            self.internal_errors,
            self.dropped_before,
            self.dropped_after,
            self.max_in_flight,
            self.first_request_at,
            self.last_request_at,
            frozen(self.throttled_by_action),
        )
