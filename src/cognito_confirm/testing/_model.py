"""The fake's model of a user pool: quotas as token buckets, users, what a request's body says.

Nothing here knows about HTTP or the actions: ``_backend`` drives this model for each request.
Parameters are checked as Cognito checks them, with its error codes and wording.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, TypedDict, cast

__all__ = [
    "CONFIRMED",
    "UNCONFIRMED",
    "USER_STATUSES",
    "ApiError",
    "Config",
    "FakeConfig",
    "Filter",
    "QuotaGate",
    "TokenBucket",
    "User",
    "UserStore",
    "WindowCounter",
    "access_key",
    "attribute_list",
    "attribute_updates",
    "decode_token",
    "encode_token",
    "invalid_parameter",
    "names_to_get",
    "new_user",
    "page_limit",
    "quota_gate",
    "required_str",
]

USER_STATUSES: Final = frozenset(
    {
        "UNCONFIRMED",
        "CONFIRMED",
        "ARCHIVED",
        "COMPROMISED",
        "UNKNOWN",
        "RESET_REQUIRED",
        "FORCE_CHANGE_PASSWORD",
        "EXTERNAL_PROVIDER",
    }
)
"""The user statuses Cognito's API model knows; `FakeCognito.add_user()` rejects others."""

UNCONFIRMED: Final = "UNCONFIRMED"
CONFIRMED: Final = "CONFIRMED"
_MAX_LIMIT: Final = 60
_CREDENTIAL: Final = re.compile(r"Credential=([^/,\s]+)/")
_FILTER: Final = re.compile(r'^\s*([A-Za-z_:]+)\s*(\^=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_SEARCHABLE: Final = frozenset(
    {"email", "phone_number", "name", "given_name", "family_name", "preferred_username", "sub"}
)


class FakeConfig(TypedDict, total=False):
    """The knobs `FakeCognito.configure()` (and ``POST /_fake/config``) can turn at run time.

    A key left out keeps its value; ``None`` for a quota means unlimited.
    """

    quota: float | None
    burst: float | None
    list_quota: float | None
    update_quota: float | None
    latency: float
    trigger_latency: float
    error_rate: float
    drop_rate: float
    quota_windows: bool
    service_quota: float | None
    service_quotas_denied: bool
    case_sensitive: bool


class ApiError(Exception):
    """A Cognito error answer: ``__type`` code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


# --- configuration and quotas -------------------------------------------------------------


@dataclass(slots=True)
class Config:
    quota: float | None = None
    burst: float | None = None
    list_quota: float | None = None
    update_quota: float | None = None
    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    quota_windows: bool = False
    service_quota: float | None = None
    service_quotas_denied: bool = False
    case_sensitive: bool = True
    trigger_latency: float = 0.0

    def validate(self) -> None:
        for name in ("quota", "list_quota", "update_quota", "service_quota"):
            rate = getattr(self, name)
            if rate is not None and rate <= 0:
                raise ValueError(f"{name} must be positive or None, not {rate}")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"burst must be at least 1, not {self.burst}")
        for name in ("latency", "trigger_latency"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
        for name in ("error_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


class TokenBucket:
    """Cognito enforces each quota category in requests per second, allowing a short burst."""

    __slots__ = ("capacity", "clock", "rate", "stamp", "tokens")

    def __init__(
        self,
        rate: float,
        capacity: float,
        tokens: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity if tokens is None else min(tokens, capacity)
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        """Spend one token if there is one; a refused request spends nothing."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class WindowCounter:
    """The other way a quota may be enforced: ``rate`` requests in each fixed one-second window.

    Cognito does not document which it uses; a client must cope with both. Here a client that
    paces evenly at the quota never sees a refusal, and no burst hides an excess.
    """

    __slots__ = ("clock", "rate", "used", "window")

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.window = -1
        self.used = 0

    def take(self) -> bool:
        """Count one request in the current window if there is room; a refused one counts not."""
        window = math.floor(self.clock())
        if window != self.window:
            self.window, self.used = window, 0
        if self.used >= self.rate:
            return False
        self.used += 1
        return True


QuotaGate = TokenBucket | WindowCounter


def quota_gate(
    rate: float | None,
    burst: float | None,
    old: QuotaGate | None,
    *,
    windows: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> QuotaGate | None:
    """A token bucket for ``rate`` (keeping what an old one held, so reconfiguring grants no
    burst), or fixed one-second windows; None for no quota. ``clock`` is injectable so that a
    simulation (``benchmarks/pacer_sim.py``) runs the same model on a virtual clock."""
    if rate is None:
        return None
    if windows:
        return WindowCounter(rate, clock)
    capacity = burst if burst is not None else max(1.0, rate)
    tokens = old.tokens if isinstance(old, TokenBucket) else None
    return TokenBucket(rate, capacity, tokens, clock)


# --- users ----------------------------------------------------------------------------------


@dataclass(slots=True)
class User:
    username: str
    status: str
    attributes: dict[str, str]
    created: float
    modified: float

    def as_list_entry(self, names: Collection[str] | None) -> dict[str, object]:
        """The ``UserType`` shape ListUsers answers, restricted to ``AttributesToGet``."""
        return {
            "Username": self.username,
            "Attributes": attribute_list(self.attributes, names),
            "UserCreateDate": self.created,
            "UserLastModifiedDate": self.modified,
            "Enabled": True,
            "UserStatus": self.status,
        }


def attribute_list(
    attributes: Mapping[str, str], names: Collection[str] | None = None
) -> list[dict[str, str]]:
    return [
        {"Name": name, "Value": value}
        for name, value in attributes.items()
        if names is None or name in names
    ]


def new_user(pool_id: str, username: str, status: str, attributes: Mapping[str, str]) -> User:
    if status not in USER_STATUSES:
        raise ValueError(f"unknown user status {status!r}; use one of {sorted(USER_STATUSES)}")
    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pool_id}/{username}"))
    now = time.time()
    return User(username, status, {"sub": sub, **attributes}, now, now)


@dataclass(frozen=True, slots=True)
class Filter:
    """One ListUsers filter clause: ``attribute = "value"`` or ``attribute ^= "prefix"``."""

    attribute: str
    value: str
    prefix: bool

    @classmethod
    def parse(cls, text: str) -> Filter | None:
        if not text.strip():
            return None
        match = _FILTER.match(text)
        if match is None:
            raise invalid_parameter("Error while parsing filter.")
        attribute, operator, raw = match.groups()
        if attribute not in _SEARCHABLE | {"username", "status", "cognito:user_status"}:
            raise invalid_parameter(f"Invalid search attribute: {attribute}")
        value = re.sub(r"\\(.)", r"\1", raw)
        return cls(attribute, value, operator == "^=")

    def matches(self, user: User) -> bool:
        actual, wanted = self._sides(user)
        if actual is None:
            return False
        return actual.startswith(wanted) if self.prefix else actual == wanted

    def _sides(self, user: User) -> tuple[str | None, str]:
        if self.attribute == "username":
            return user.username, self.value
        if self.attribute == "cognito:user_status":  # Cognito: case-insensitive
            return user.status.upper(), self.value.upper()
        if self.attribute == "status":  # Cognito: Enabled/Disabled, not the user status
            return "Enabled", self.value
        return user.attributes.get(self.attribute), self.value


class UserStore:
    """Users kept sorted by username, with a per-status index.

    Why the index: a bulk confirmer pages through ``cognito:user_status = "UNCONFIRMED"``
    while a million users change status, and each page must cost O(page), not O(pool).
    """

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._names: list[str] = []
        self._by_status: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._users)

    def get(self, username: str) -> User | None:
        return self._users.get(username)

    def put(self, user: User) -> None:
        old = self._users.get(user.username)
        if old is None:
            bisect.insort(self._names, user.username)
        else:
            self._unindex(old)
        self._users[user.username] = user
        bisect.insort(self._by_status.setdefault(user.status.upper(), []), user.username)

    def put_many(self, users: Iterable[User]) -> None:
        """Add in bulk, sorting once: adding a million users one insort at a time is slow."""
        self._users.update((user.username, user) for user in users)
        self._names = sorted(self._users)
        self._by_status = {}
        for name in self._names:
            self._by_status.setdefault(self._users[name].status.upper(), []).append(name)

    def set_status(self, user: User, status: str) -> None:
        self._unindex(user)
        user.status = status
        user.modified = time.time()
        bisect.insort(self._by_status.setdefault(status.upper(), []), user.username)

    def status_counts(self) -> dict[str, int]:
        return {status: len(names) for status, names in self._by_status.items() if names}

    def select(self, flt: Filter | None, offset: int, limit: int) -> list[User]:
        """Up to ``limit + 1`` users of the filtered list from ``offset`` (the extra one says
        whether there is a next page)."""
        wanted = limit + 1
        if flt is None:
            names: Iterable[str] = self._names[offset : offset + wanted]
        elif flt.attribute == "cognito:user_status" and not flt.prefix:
            names = self._by_status.get(flt.value.upper(), [])[offset : offset + wanted]
        elif flt.attribute == "username" and flt.prefix:
            names = self._with_prefix(flt.value, offset, wanted)
        else:
            users = (self._users[name] for name in self._names)
            return list(itertools.islice(filter(flt.matches, users), offset, offset + wanted))
        return [self._users[name] for name in names]

    def _with_prefix(self, prefix: str, offset: int, wanted: int) -> Iterator[str]:
        start = bisect.bisect_left(self._names, prefix) + offset
        window = self._names[start : start + wanted]
        return itertools.takewhile(lambda name: name.startswith(prefix), window)

    def _unindex(self, user: User) -> None:
        names = self._by_status[user.status.upper()]
        del names[bisect.bisect_left(names, user.username)]


# --- request parameters ------------------------------------------------------------------------


def required_str(body: Mapping[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise invalid_parameter(
            f"1 validation error detected: Value null at '{key[0].lower()}{key[1:]}' "
            "failed to satisfy constraint: Member must not be null"
        )
    return value


def page_limit(body: Mapping[str, object]) -> int:
    limit = body.get("Limit", _MAX_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise invalid_parameter("Limit must be an integer between 0 and 60.")
    if limit > _MAX_LIMIT:
        raise invalid_parameter(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value less than or equal to {_MAX_LIMIT}"
        )
    return limit or _MAX_LIMIT  # Limit 0 is allowed by the model; treated as the default.


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(body: Mapping[str, object]) -> int:
    token = body.get("PaginationToken")
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise invalid_parameter("Invalid pagination token.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise invalid_parameter("Invalid pagination token.")
    return offset


def names_to_get(body: Mapping[str, object]) -> frozenset[str] | None:
    names = body.get("AttributesToGet")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise invalid_parameter("AttributesToGet must be a list of attribute names.")
    return frozenset(cast(list[str], names))


def attribute_updates(body: Mapping[str, object]) -> dict[str, str]:
    entries = body.get("UserAttributes")
    if not isinstance(entries, list):
        raise invalid_parameter("UserAttributes must be a list of Name/Value pairs.")
    updates: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str):
            raise invalid_parameter("Each user attribute needs a Name.")
        updates[entry["Name"]] = str(entry.get("Value", ""))
    return updates


def access_key(authorization: str) -> str | None:
    match = _CREDENTIAL.search(authorization)
    return None if match is None else match.group(1)
