"""A fault-injecting fake Amazon Cognito user pool endpoint, for tests and benchmarks.

Why not just moto: moto answers every call at once and never misbehaves, so it cannot show how
a bulk confirmer copes with what real Cognito does under load. This fake reproduces exactly
those behaviours: throttling answered as HTTP 400 ``TooManyRequestsException`` "Rate exceeded"
(never 429), ``InternalErrorException`` as HTTP 500 (Cognito's only server fault), connections
dropped with no answer (before *or after* the user was confirmed), latency, the
"already confirmed" ``NotAuthorizedException`` and scripted Lambda trigger errors.

It speaks the AWS JSON 1.1 protocol as Cognito does, so an unmodified botocore / aiobotocore
``cognito-idp`` client pointed at :attr:`FakeCognito.endpoint_url` (any credentials, region
``us-east-1``) parses its answers exactly as it parses Cognito's::

    with FakeCognito(quota=50) as fake:
        fake.add_users(["alice", "bob"])
        ...  # session.create_client("cognito-idp", endpoint_url=fake.endpoint_url, ...)
        assert fake.stats().confirmations["alice"] == 1

ListUsers pagination hazard (deliberate, as in Cognito): the pagination token is an *offset
into the current filtered list*. A pager that lists ``cognito:user_status = "UNCONFIRMED"``
while confirming the users it has seen makes that list shrink under it, so the next offset
skips as many users as left the list. A correct client re-lists from the start until a pass
finds nothing (or otherwise tolerates the skip).

For another process (benchmarks): ``python -m cognito_confirm.testing --users 1000`` prints
``endpoint_url=http://127.0.0.1:PORT`` and serves until SIGTERM/SIGINT; ``GET /_fake/stats``,
``POST /_fake/reset``, ``POST /_fake/users`` and ``POST /_fake/config`` drive it over HTTP.

Only the standard library is used, so the fake costs the library nothing at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import bisect
import contextlib
import dataclasses
import itertools
import json
import random
import re
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import MappingProxyType, TracebackType
from typing import Final, Self, TypedDict, Unpack, cast

__all__ = ["TARGET_PREFIX", "USER_STATUSES", "FakeCognito", "FakeConfig", "FakeStats", "main"]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
"""What precedes the action name in the ``X-Amz-Target`` header of every Cognito call."""

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
"""The user statuses Cognito's API model knows; :meth:`FakeCognito.add_user` rejects others."""

_UNCONFIRMED: Final = "UNCONFIRMED"
_CONFIRMED: Final = "CONFIRMED"
_ACCOUNT: Final = "123456789012"
_AMZ_JSON: Final = "application/x-amz-json-1.1"
_MAX_LIMIT: Final = 60
_CREDENTIAL: Final = re.compile(r"Credential=([^/,\s]+)/")
_FILTER: Final = re.compile(r'^\s*([A-Za-z_:]+)\s*(\^=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
_SEARCHABLE: Final = frozenset(
    {"email", "phone_number", "name", "given_name", "family_name", "preferred_username", "sub"}
)
_DEFAULT_MESSAGES: Final[Mapping[str, str]] = {
    "InternalErrorException": "Internal server error.",
    "TooManyRequestsException": "Rate exceeded",
    "UserLambdaValidationException": "PostConfirmation failed with error Injected trigger error.",
    "UnexpectedLambdaException": "PostConfirmation invocation failed due to error "
    "TooManyRequestsException.",
    "InvalidLambdaResponseException": "Invalid lambda response received: Invalid JSON",
}


class FakeConfig(TypedDict, total=False):
    """The knobs :meth:`FakeCognito.configure` (and ``POST /_fake/config``) can turn at run time.

    A key left out keeps its value; ``None`` for a quota means unlimited.
    """

    quota: float | None
    burst: float | None
    list_quota: float | None
    update_quota: float | None
    latency: float
    error_rate: float
    drop_rate: float


@dataclass(frozen=True)
class FakeStats:
    """A snapshot of what the fake saw, so a test can assert on the client's behaviour.

    ``confirmations`` is at most 1 per user by construction (only UNCONFIRMED -> CONFIRMED counts),
    so a client that confirms twice shows up in ``already_confirmed`` instead. ``throttled`` and
    ``internal_errors`` count answers of every action, injected or scripted with :meth:`fail`.
    The times are ``time.monotonic()`` of the first/last AdminConfirmSignUp received.
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
            "internal_errors": self.internal_errors,
            "dropped_before": self.dropped_before,
            "dropped_after": self.dropped_after,
            "max_in_flight": self.max_in_flight,
            "first_request_at": self.first_request_at,
            "last_request_at": self.last_request_at,
        }


class _ApiError(Exception):
    """A Cognito error answer: ``__type`` code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _invalid(message: str) -> _ApiError:
    return _ApiError("InvalidParameterException", message)


# --- configuration and quotas -------------------------------------------------------------


@dataclass(slots=True)
class _Config:
    quota: float | None = None
    burst: float | None = None
    list_quota: float | None = None
    update_quota: float | None = None
    latency: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0

    def validate(self) -> None:
        for name in ("quota", "list_quota", "update_quota"):
            rate = getattr(self, name)
            if rate is not None and rate <= 0:
                raise ValueError(f"{name} must be positive or None, not {rate}")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"burst must be at least 1, not {self.burst}")
        if self.latency < 0:
            raise ValueError(f"latency must not be negative, not {self.latency}")
        for name in ("error_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")


class _TokenBucket:
    """Cognito enforces each quota category in requests per second, allowing a short burst."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, tokens: float | None = None) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity if tokens is None else min(tokens, capacity)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one; a refused request spends nothing."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


def _bucket(
    rate: float | None, burst: float | None, old: _TokenBucket | None
) -> _TokenBucket | None:
    """A bucket for ``rate``, keeping what the old one held so reconfiguring grants no burst."""
    if rate is None:
        return None
    capacity = burst if burst is not None else max(1.0, rate)
    return _TokenBucket(rate, capacity, None if old is None else old.tokens)


# --- users ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _User:
    username: str
    status: str
    attributes: dict[str, str]
    created: float
    modified: float

    def as_list_entry(self, names: Collection[str] | None) -> dict[str, object]:
        """The ``UserType`` shape ListUsers answers, restricted to ``AttributesToGet``."""
        return {
            "Username": self.username,
            "Attributes": _attribute_list(self.attributes, names),
            "UserCreateDate": self.created,
            "UserLastModifiedDate": self.modified,
            "Enabled": True,
            "UserStatus": self.status,
        }


def _attribute_list(
    attributes: Mapping[str, str], names: Collection[str] | None = None
) -> list[dict[str, str]]:
    return [
        {"Name": name, "Value": value}
        for name, value in attributes.items()
        if names is None or name in names
    ]


def _new_user(pool_id: str, username: str, status: str, attributes: Mapping[str, str]) -> _User:
    if status not in USER_STATUSES:
        raise ValueError(f"unknown user status {status!r}; use one of {sorted(USER_STATUSES)}")
    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pool_id}/{username}"))
    now = time.time()
    return _User(username, status, {"sub": sub, **attributes}, now, now)


@dataclass(frozen=True, slots=True)
class _Filter:
    """One ListUsers filter clause: ``attribute = "value"`` or ``attribute ^= "prefix"``."""

    attribute: str
    value: str
    prefix: bool

    @classmethod
    def parse(cls, text: str) -> _Filter | None:
        if not text.strip():
            return None
        match = _FILTER.match(text)
        if match is None:
            raise _invalid("Error while parsing filter.")
        attribute, operator, raw = match.groups()
        if attribute not in _SEARCHABLE | {"username", "status", "cognito:user_status"}:
            raise _invalid(f"Invalid search attribute: {attribute}")
        value = re.sub(r"\\(.)", r"\1", raw)
        return cls(attribute, value, operator == "^=")

    def matches(self, user: _User) -> bool:
        actual, wanted = self._sides(user)
        if actual is None:
            return False
        return actual.startswith(wanted) if self.prefix else actual == wanted

    def _sides(self, user: _User) -> tuple[str | None, str]:
        if self.attribute == "username":
            return user.username, self.value
        if self.attribute == "cognito:user_status":  # Cognito: case-insensitive
            return user.status.upper(), self.value.upper()
        if self.attribute == "status":  # Cognito: Enabled/Disabled, not the user status
            return "Enabled", self.value
        return user.attributes.get(self.attribute), self.value


class _UserStore:
    """Users kept sorted by username, with a per-status index.

    Why the index: a bulk confirmer pages through ``cognito:user_status = "UNCONFIRMED"``
    while a million users change status, and each page must cost O(page), not O(pool).
    """

    def __init__(self) -> None:
        self._users: dict[str, _User] = {}
        self._names: list[str] = []
        self._by_status: dict[str, list[str]] = {}

    def __len__(self) -> int:
        return len(self._users)

    def get(self, username: str) -> _User | None:
        return self._users.get(username)

    def put(self, user: _User) -> None:
        old = self._users.get(user.username)
        if old is None:
            bisect.insort(self._names, user.username)
        else:
            self._unindex(old)
        self._users[user.username] = user
        bisect.insort(self._by_status.setdefault(user.status.upper(), []), user.username)

    def put_many(self, users: Iterable[_User]) -> None:
        """Add in bulk, sorting once: adding a million users one insort at a time is slow."""
        self._users.update((user.username, user) for user in users)
        self._names = sorted(self._users)
        self._by_status = {}
        for name in self._names:
            self._by_status.setdefault(self._users[name].status.upper(), []).append(name)

    def set_status(self, user: _User, status: str) -> None:
        self._unindex(user)
        user.status = status
        user.modified = time.time()
        bisect.insort(self._by_status.setdefault(status.upper(), []), user.username)

    def status_counts(self) -> dict[str, int]:
        return {status: len(names) for status, names in self._by_status.items() if names}

    def select(self, flt: _Filter | None, offset: int, limit: int) -> list[_User]:
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

    def _unindex(self, user: _User) -> None:
        names = self._by_status[user.status.upper()]
        del names[bisect.bisect_left(names, user.username)]


# --- request parameters ------------------------------------------------------------------------


def _required_str(body: Mapping[str, object], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise _invalid(
            f"1 validation error detected: Value null at '{key[0].lower()}{key[1:]}' "
            "failed to satisfy constraint: Member must not be null"
        )
    return value


def _limit(body: Mapping[str, object]) -> int:
    limit = body.get("Limit", _MAX_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise _invalid("Limit must be an integer between 0 and 60.")
    if limit > _MAX_LIMIT:
        raise _invalid(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value less than or equal to {_MAX_LIMIT}"
        )
    return limit or _MAX_LIMIT  # Limit 0 is allowed by the model; treated as the default.


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(body: Mapping[str, object]) -> int:
    token = body.get("PaginationToken")
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise _invalid("Invalid pagination token.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise _invalid("Invalid pagination token.")
    return offset


def _names_to_get(body: Mapping[str, object]) -> frozenset[str] | None:
    names = body.get("AttributesToGet")
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise _invalid("AttributesToGet must be a list of attribute names.")
    return frozenset(cast(list[str], names))


def _attribute_updates(body: Mapping[str, object]) -> dict[str, str]:
    entries = body.get("UserAttributes")
    if not isinstance(entries, list):
        raise _invalid("UserAttributes must be a list of Name/Value pairs.")
    updates: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str):
            raise _invalid("Each user attribute needs a Name.")
        updates[entry["Name"]] = str(entry.get("Value", ""))
    return updates


def _access_key(authorization: str) -> str | None:
    match = _CREDENTIAL.search(authorization)
    return None if match is None else match.group(1)


# --- the Cognito state machine --------------------------------------------------------------


@dataclass
class _Counters:
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
        )


@dataclass(slots=True)
class _Call:
    """One Cognito request on its way through the fake."""

    action: str
    body: dict[str, object] | None
    access_key: str | None
    confirm: bool
    drop_after: bool = False


@dataclass(slots=True)
class _Rule:
    code: str
    message: str
    status: int
    remaining: int | None


_Handler = Callable[[_Call], dict[str, object] | None]


class _Backend:
    """Everything the fake knows, behind one ``threading.Lock``.

    Why a lock: the asyncio loop serves requests in its own thread while the test thread adds
    users, scripts failures and reads stats. No lock is ever held across an ``await``.
    """

    def __init__(
        self,
        pool_id: str,
        config: _Config,
        seed: int,
        invalid_keys: Collection[str],
        denied_keys: Collection[str],
    ) -> None:
        self.pool_id = pool_id
        self._lock = threading.Lock()
        self._config = config
        self._buckets: dict[str, _TokenBucket | None] = {}
        self._rebuild_buckets()
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._invalid_keys = frozenset(invalid_keys)
        self._denied_keys = frozenset(denied_keys)
        self._store = _UserStore()
        self._rules: dict[str, _Rule] = {}
        self._counters = _Counters()
        self._in_flight = 0
        self._drops = 0
        self._handlers: dict[str, _Handler] = {
            "AdminConfirmSignUp": self._confirm,
            "ListUsers": self._list_users,
            "AdminUpdateUserAttributes": self._update_attributes,
            "DescribeUserPool": self._describe_pool,
            "AdminGetUser": self._get_user,
        }

    # ----- control from the test side

    def add_users(self, users: Iterable[tuple[str, str, Mapping[str, str]]]) -> None:
        made = [_new_user(self.pool_id, name, status, attrs) for name, status, attrs in users]
        with self._lock:
            if len(made) == 1:
                self._store.put(made[0])
            else:
                self._store.put_many(made)

    def fail(self, username: str, rule: _Rule) -> None:
        with self._lock:
            if rule.remaining == 0:
                self._rules.pop(username, None)
            else:
                self._rules[username] = rule

    def configure(self, changes: FakeConfig) -> None:
        with self._lock:
            config = dataclasses.replace(self._config, **changes)
            config.validate()
            self._config = config
            self._rebuild_buckets()

    def user(self, username: str) -> tuple[str, dict[str, str]] | None:
        with self._lock:
            user = self._store.get(username)
            return None if user is None else (user.status, dict(user.attributes))

    def status_counts(self) -> dict[str, int]:
        with self._lock:
            return self._store.status_counts()

    def stats(self) -> FakeStats:
        with self._lock:
            return self._counters.snapshot()

    def reset_stats(self) -> None:
        with self._lock:
            self._counters = _Counters(max_in_flight=self._in_flight)

    @property
    def latency(self) -> float:
        with self._lock:
            return self._config.latency

    def _rebuild_buckets(self) -> None:
        config, old = self._config, self._buckets
        self._buckets = {
            "AdminConfirmSignUp": _bucket(
                config.quota, config.burst, old.get("AdminConfirmSignUp")
            ),
            "ListUsers": _bucket(config.list_quota, None, old.get("ListUsers")),
            "AdminUpdateUserAttributes": _bucket(
                config.update_quota, None, old.get("AdminUpdateUserAttributes")
            ),
        }

    # ----- the request path: receive, authorize, (sleep), execute, finish

    def receive(self, action: str, raw_body: bytes, authorization: str) -> _Call:
        """Count the request the moment it arrives (throughput and in-flight are measured here)."""
        body = _json_object(raw_body)
        call = _Call(action, body, _access_key(authorization), action == "AdminConfirmSignUp")
        with self._lock:
            counters = self._counters
            counters.requests[action] += 1
            if call.confirm:
                username = None if body is None else body.get("Username")
                counters.confirm_calls[str(username)] += 1
                now = time.monotonic()
                if counters.first_request_at is None:
                    counters.first_request_at = now
                counters.last_request_at = now
                self._in_flight += 1
                counters.max_in_flight = max(counters.max_in_flight, self._in_flight)
        return call

    def finish(self, call: _Call) -> None:
        if call.confirm:
            with self._lock:
                self._in_flight -= 1

    def authorize(self, call: _Call) -> None:
        """IAM comes first in Cognito: a bad or unauthorised key never reaches the pool."""
        key = call.access_key
        if key is None:
            raise _ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
        if key in self._invalid_keys:
            raise _ApiError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if key in self._denied_keys:
            raise _ApiError("AccessDeniedException", self._denial(key, call))

    def _denial(self, key: str, call: _Call) -> str:
        pool = self.pool_id if call.body is None else call.body.get("UserPoolId", self.pool_id)
        operation = f"cognito-idp:{call.action}"
        return (
            f"User: arn:aws:iam::{_ACCOUNT}:user/{key} is not authorized to perform: "
            f"{operation} on resource: {_pool_arn(str(pool))} because no identity-based "
            f"policy allows the {operation} action"
        )

    def execute(self, call: _Call) -> dict[str, object] | None:
        """The answer's JSON payload, ``None`` to drop the connection, or an ``_ApiError``."""
        handler = self._handlers.get(call.action)
        if handler is None:
            raise _ApiError("UnknownOperationException", f"Unknown operation {call.action}")
        with self._lock:
            try:
                return handler(call)
            except _ApiError as error:
                self._count_fault(error)
                raise

    def _count_fault(self, error: _ApiError) -> None:
        if error.code == "TooManyRequestsException":
            self._counters.throttled += 1
        elif error.code == "InternalErrorException":
            self._counters.internal_errors += 1

    # ----- actions (called with the lock held)

    def _confirm(self, call: _Call) -> dict[str, object] | None:
        if not self._inject(call):
            return None
        body = self._pool_body(call)
        username = _required_str(body, "Username")
        self._scripted(username)
        user = self._user(username)
        if user.status != _UNCONFIRMED:
            if user.status == _CONFIRMED:
                self._counters.already_confirmed[username] += 1
            raise _ApiError(
                "NotAuthorizedException",
                f"User cannot be confirmed. Current status is {user.status}",
            )
        self._store.set_status(user, _CONFIRMED)
        self._counters.confirmations[username] += 1
        return {}

    def _inject(self, call: _Call) -> bool:
        """Drops, internal errors, then the quota; ``False`` means drop before processing.

        Drops alternate before/after so exactly half of them (rounded up: before) lose a
        confirmation's answer while the user *is* confirmed, which a client must survive.
        """
        config = self._config
        if config.drop_rate and self._rng.random() < config.drop_rate:
            self._drops += 1
            if self._drops % 2:
                self._counters.dropped_before += 1
                return False
            call.drop_after = True
            self._counters.dropped_after += 1
        if config.error_rate and self._rng.random() < config.error_rate:
            raise _ApiError(
                "InternalErrorException", _DEFAULT_MESSAGES["InternalErrorException"], 500
            )
        self._throttle(call)
        return True

    def _throttle(self, call: _Call) -> None:
        bucket = self._buckets.get(call.action)
        if bucket is not None and not bucket.take():
            raise _ApiError("TooManyRequestsException", "Rate exceeded")

    def _pool_body(self, call: _Call) -> dict[str, object]:
        if call.body is None:
            raise _ApiError(
                "SerializationException", "Start of structure or map found where not expected."
            )
        pool_id = _required_str(call.body, "UserPoolId")
        if pool_id != self.pool_id:
            raise _ApiError("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        return call.body

    def _scripted(self, username: str) -> None:
        rule = self._rules.get(username)
        if rule is None:
            return
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self._rules[username]
        raise _ApiError(rule.code, rule.message, rule.status)

    def _user(self, username: str) -> _User:
        user = self._store.get(username)
        if user is None:
            raise _ApiError("UserNotFoundException", "User does not exist.")
        return user

    def _list_users(self, call: _Call) -> dict[str, object]:
        self._throttle(call)
        body = self._pool_body(call)
        flt = _Filter.parse(str(body.get("Filter") or ""))
        limit, offset, names = _limit(body), _decode_token(body), _names_to_get(body)
        users = self._store.select(flt, offset, limit)
        page: dict[str, object] = {"Users": [u.as_list_entry(names) for u in users[:limit]]}
        if len(users) > limit:
            page["PaginationToken"] = _encode_token(offset + limit)
        return page

    def _update_attributes(self, call: _Call) -> dict[str, object]:
        self._throttle(call)
        body = self._pool_body(call)
        user = self._user(_required_str(body, "Username"))
        user.attributes.update(_attribute_updates(body))
        user.modified = time.time()
        return {}

    def _describe_pool(self, call: _Call) -> dict[str, object]:
        self._pool_body(call)
        pool = {
            "Id": self.pool_id,
            "Name": "fake",
            "Arn": _pool_arn(self.pool_id),
            "EstimatedNumberOfUsers": len(self._store),
        }
        return {"UserPool": pool}

    def _get_user(self, call: _Call) -> dict[str, object]:
        user = self._user(_required_str(self._pool_body(call), "Username"))
        return {
            "Username": user.username,
            "UserStatus": user.status,
            "UserAttributes": _attribute_list(user.attributes),
            "UserCreateDate": user.created,
            "UserLastModifiedDate": user.modified,
            "Enabled": True,
        }


def _pool_arn(pool_id: str) -> str:
    region = pool_id.partition("_")[0] or "us-east-1"
    return f"arn:aws:cognito-idp:{region}:{_ACCOUNT}:userpool/{pool_id}"


def _json_object(raw: bytes) -> dict[str, object] | None:
    """The request body as a JSON object, or ``None`` when it is not one."""
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return None
    return cast(dict[str, object], value) if isinstance(value, dict) else None


# --- HTTP/1.1 -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    def encode(self, keep_alive: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class _BadRequestError(Exception):
    """The bytes on the wire are not an HTTP/1.1 request this server understands."""


def _aws_reply(status: int, payload: Mapping[str, object], *extra: tuple[str, str]) -> _Reply:
    headers = (("x-amzn-RequestId", str(uuid.uuid4())), *extra)
    return _Reply(status, json.dumps(payload).encode(), headers, _AMZ_JSON)


def _aws_error(error: _ApiError) -> _Reply:
    payload = {"__type": error.code, "message": error.message}
    return _aws_reply(error.status, payload, ("x-amzn-ErrorType", error.code))


def _json_reply(status: int, payload: object) -> _Reply:
    return _Reply(status, json.dumps(payload).encode())


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on a keep-alive connection, or ``None`` once the client hung up."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequestError("truncated request head") from exc
        return None
    request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    try:
        method, path, version = request_line.split(" ", 2)
    except ValueError as exc:
        raise _BadRequestError(request_line) from exc
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise _BadRequestError("chunked request bodies are not supported")
    body = await reader.readexactly(int(headers.get("content-length", "0") or "0"))
    return _Request(method, path, headers, body, _keep_alive(version, headers))


def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


class _HttpServer:
    """A minimal keep-alive HTTP/1.1 server: just what botocore and a benchmark need."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend
        self._tasks: set[asyncio.Task[None]] = set()
        self._admin: dict[tuple[str, str], Callable[[object], object]] = {
            ("GET", "/_fake/stats"): self._admin_stats,
            ("POST", "/_fake/reset"): self._admin_reset,
            ("POST", "/_fake/users"): self._admin_users,
            ("POST", "/_fake/config"): self._admin_config,
        }

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, request after request, until the client or a drop closes it."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(cast("asyncio.Task[None]", task))
        try:
            await self._converse(reader, writer)
        except (_BadRequestError, ValueError, asyncio.LimitOverrunError):
            writer.write(_json_reply(400, {"error": "bad request"}).encode(keep_alive=False))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels a connection. Ending quietly matters: Python 3.11's stream
            # callback calls task.exception() on a cancelled task and logs a traceback.
            pass
        finally:
            self._tasks.discard(cast("asyncio.Task[None]", task))
            writer.close()

    async def close_all(self) -> None:
        """Cancel every open connection: stop() must not wait for idle keep-alive clients."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            reply = await self._route(request)
            if reply is None:
                return  # a dropped connection: close without a byte of answer
            writer.write(reply.encode(request.keep_alive))
            if not request.keep_alive:
                return
            await writer.drain()

    async def _route(self, request: _Request) -> _Reply | None:
        if request.path.startswith("/_fake/"):
            return self._admin_reply(request)
        target = request.headers.get("x-amz-target", "")
        action = target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else ""
        if request.method != "POST" or request.path != "/":
            action = ""
        return await self._cognito(action, request)

    async def _cognito(self, action: str, request: _Request) -> _Reply | None:
        backend = self._backend
        call = backend.receive(action, request.body, request.headers.get("authorization", ""))
        try:
            backend.authorize(call)
            latency = backend.latency
            if latency > 0:
                await asyncio.sleep(latency)
            payload = backend.execute(call)
        except _ApiError as error:
            reply: _Reply | None = _aws_error(error)
        else:
            reply = None if payload is None else _aws_reply(200, payload)
        finally:
            backend.finish(call)
        return None if call.drop_after else reply

    # ----- the /_fake/ admin endpoints, for a benchmark that runs the fake in another process

    def _admin_reply(self, request: _Request) -> _Reply:
        handler = self._admin.get((request.method, request.path))
        if handler is None:
            return _json_reply(404, {"error": f"no admin endpoint {request.method} {request.path}"})
        try:
            return _json_reply(200, handler(json.loads(request.body or b"{}")))
        except (ValueError, TypeError) as exc:
            return _json_reply(400, {"error": str(exc)})

    def _admin_stats(self, _body: object) -> object:
        summary = self._backend.stats().summary()
        summary["users_by_status"] = self._backend.status_counts()
        return summary

    def _admin_reset(self, _body: object) -> object:
        self._backend.reset_stats()
        return {"ok": True}

    def _admin_users(self, body: object) -> object:
        if not isinstance(body, dict) or not isinstance(body.get("usernames"), list):
            raise TypeError('expected {"usernames": [...], "status": "UNCONFIRMED"}')
        status = str(body.get("status", _UNCONFIRMED))
        self._backend.add_users((str(name), status, {}) for name in body["usernames"])
        return {"added": len(body["usernames"])}

    def _admin_config(self, body: object) -> object:
        self._backend.configure(_config_changes(body))
        return {"ok": True}


def _config_changes(body: object) -> FakeConfig:
    """Check a JSON object's keys and values against :class:`FakeConfig`."""
    if not isinstance(body, dict):
        raise TypeError("expected a JSON object of configure() keys")
    unknown = set(body) - set(FakeConfig.__annotations__)
    if unknown:
        raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
    for key, value in body.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"{key} must be a number or null")
    return cast(FakeConfig, body)


# --- the public fake ------------------------------------------------------------------------


class _ServerThread:
    """Runs the asyncio server in a daemon thread, so synchronous and asynchronous tests alike
    (and any event loop, or none) can use the fake."""

    def __init__(self, backend: _Backend, host: str, port: int) -> None:
        self._backend, self._host, self.port = backend, host, port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="FakeCognito", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        http = _HttpServer(self._backend)
        try:
            server = await asyncio.start_server(http.serve, self._host, self.port, backlog=2048)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            await http.close_all()
            await server.wait_closed()


class FakeCognito:
    """A fake Cognito user pool endpoint that misbehaves on purpose (see the module docstring).

    Rates and quotas apply to AdminConfirmSignUp (``quota``, ``burst``, ``error_rate``,
    ``drop_rate``), ListUsers (``list_quota``) and AdminUpdateUserAttributes (``update_quota``);
    ``latency`` delays every Cognito call. An AdminConfirmSignUp goes through: access key check,
    latency, drop-before / ``error_rate`` / quota, the pool check, :meth:`fail` rules, then the
    user's status; a drop-after loses the answer but keeps the confirmation. Drops alternate
    before/after (the first is before), so ``drop_rate=1`` confirms exactly every other call.
    Access keys (the ``Credential=`` of the signature) in ``invalid_access_keys`` get
    ``UnrecognizedClientException``; in ``denied_access_keys``, ``AccessDeniedException``; an
    unsigned call gets ``MissingAuthenticationTokenException``.

    ListUsers filters as Cognito does: ``cognito:user_status`` compares case-insensitively, while
    ``status`` is the Enabled/Disabled flag (every fake user is ``"Enabled"``), not the status.
    """

    def __init__(
        self,
        *,
        user_pool_id: str = "us-east-1_FakePool1",
        host: str = "127.0.0.1",
        port: int = 0,
        quota: float | None = None,
        burst: float | None = None,
        list_quota: float | None = None,
        update_quota: float | None = None,
        latency: float = 0.0,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int = 0,
        invalid_access_keys: Collection[str] = ("invalid",),
        denied_access_keys: Collection[str] = ("denied",),
    ) -> None:
        config = _Config(quota, burst, list_quota, update_quota, latency, error_rate, drop_rate)
        config.validate()
        self.user_pool_id: Final = user_pool_id
        self._backend = _Backend(
            user_pool_id, config, seed, invalid_access_keys, denied_access_keys
        )
        self._host, self._port = host, port
        self._thread: _ServerThread | None = None

    def start(self) -> Self:
        """Start serving in a background thread (a no-op when already started)."""
        if self._thread is None:
            thread = _ServerThread(self._backend, self._host, self._port)
            thread.start()
            self._thread = thread
        return self

    def stop(self) -> None:
        """Close the server and every connection, and join the thread; safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """``http://HOST:PORT`` for a client's ``endpoint_url``; only while started."""
        if self._thread is None:
            raise RuntimeError("FakeCognito is not started: use start() or a with block")
        return f"http://{self._host}:{self._thread.port}"

    def add_user(
        self, username: str, status: str = _UNCONFIRMED, attributes: Mapping[str, str] | None = None
    ) -> None:
        """Create (or replace) a user; like Cognito it gets a ``sub`` attribute."""
        self._backend.add_users([(username, status, attributes or {})])

    def add_users(self, usernames: Iterable[str], status: str = _UNCONFIRMED) -> None:
        """Create many users at once (sorted once, so a million is quick)."""
        self._backend.add_users((name, status, {}) for name in usernames)

    def fail(
        self,
        username: str,
        code: str,
        *,
        message: str | None = None,
        http_status: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer this user's AdminConfirmSignUp calls with ``code`` (e.g. a Lambda trigger's
        ``UserLambdaValidationException``), forever or for the first ``times`` calls.

        ``http_status`` defaults to Cognito's: 500 for InternalErrorException, else 400.
        ``times=0`` removes the rule.
        """
        text = message if message is not None else _DEFAULT_MESSAGES.get(code, f"Injected {code}")
        if http_status is None:
            http_status = 500 if code == "InternalErrorException" else 400
        self._backend.fail(username, _Rule(code, text, http_status, times))

    def configure(self, **changes: Unpack[FakeConfig]) -> None:
        """Change quotas, latency or fault rates while serving (e.g. an outage mid-run)."""
        self._backend.configure(changes)

    def user_status(self, username: str) -> str | None:
        """The user's status, or ``None`` when there is no such user."""
        user = self._backend.user(username)
        return None if user is None else user[0]

    def user_attributes(self, username: str) -> dict[str, str]:
        """A copy of the user's attributes (``sub`` included); ``KeyError`` if unknown."""
        user = self._backend.user(username)
        if user is None:
            raise KeyError(username)
        return user[1]

    def status_counts(self) -> dict[str, int]:
        """How many users have each status, e.g. ``{"CONFIRMED": 998, "UNCONFIRMED": 2}``."""
        return self._backend.status_counts()

    def stats(self) -> FakeStats:
        """A frozen snapshot of the counters."""
        return self._backend.stats()

    def reset_stats(self) -> None:
        """Zero the counters (users, rules and configuration stay), e.g. after a warm-up."""
        self._backend.reset_stats()


# --- command line -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cognito_confirm.testing",
        description="Serve a fault-injecting fake Cognito endpoint until SIGTERM/SIGINT.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pool-id", default="us-east-1_FakePool1")
    parser.add_argument("--quota", type=float, default=None)
    parser.add_argument("--burst", type=float, default=None)
    parser.add_argument("--list-quota", type=float, default=None)
    parser.add_argument("--update-quota", type=float, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--drop-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=0, help="UNCONFIRMED users user000000...")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the fake for another process; print one ``endpoint_url=...`` line once it listens."""
    args = _parser().parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stopping.set())
    fake = FakeCognito(
        user_pool_id=args.pool_id,
        host=args.host,
        port=args.port,
        quota=args.quota,
        burst=args.burst,
        list_quota=args.list_quota,
        update_quota=args.update_quota,
        latency=args.latency,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        seed=args.seed,
    )
    fake.add_users(f"user{index:06d}" for index in range(args.users))
    with fake:
        sys.stdout.write(f"endpoint_url={fake.endpoint_url}\n")
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass


if __name__ == "__main__":
    main()
