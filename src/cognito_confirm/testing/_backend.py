"""The fake's Cognito state machine: each action, and fault injection per call.

Every request goes through ``Backend``: ``receive`` (counted), ``authorize``, the latency (the
HTTP side sleeps it), ``execute`` (the action, with drops, errors and throttling injected), the
trigger's latency if it confirmed a user (slept too), ``finish``. The counters are in
``_stats``; outages and takeovers of the whole endpoint in ``_faults`` (``Backend.faults``),
which the HTTP side consults first.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, cast

from ._faults import Faults
from ._model import (
    CONFIRMED,
    UNCONFIRMED,
    ApiError,
    Config,
    FakeConfig,
    Filter,
    QuotaGate,
    User,
    UserStore,
    access_key,
    attribute_list,
    attribute_updates,
    decode_token,
    encode_token,
    names_to_get,
    new_user,
    page_limit,
    quota_gate,
    required_str,
)
from ._service_quotas import SERVICE_QUOTAS_ACTIONS, service_quota
from ._stats import Counters, FakeStats

__all__ = ["DEFAULT_MESSAGES", "Backend", "FakeStats", "Rule"]

_ACCOUNT: Final = "123456789012"
_UNSIGNED: Final = frozenset({"SignUp"})
"""Cognito's public operations: an app calls them with no AWS credentials at all."""
_CATEGORY: Final[Mapping[str, str]] = {
    # Cognito's quota categories: AdminConfirmSignUp and SignUp draw on the same UserCreation
    # quota, which is why a migration can starve the product's own sign-ups.
    "AdminConfirmSignUp": "UserCreation",
    "SignUp": "UserCreation",
    "ListUsers": "UserList",
    "AdminUpdateUserAttributes": "UserUpdate",
}

DEFAULT_MESSAGES: Final[Mapping[str, str]] = {
    "InternalErrorException": "Internal server error.",
    "TooManyRequestsException": "Rate exceeded",
    "UserLambdaValidationException": "PostConfirmation failed with error Injected trigger error.",
    "UnexpectedLambdaException": "PostConfirmation invocation failed due to error "
    "TooManyRequestsException.",
    "InvalidLambdaResponseException": "Invalid lambda response received: Invalid JSON",
}


@dataclass(slots=True)
class _Call:
    """One Cognito request on its way through the fake."""

    action: str
    body: dict[str, object] | None
    access_key: str | None
    confirm: bool
    drop_after: bool = False
    triggered: bool = False
    """It confirmed a user: the post-confirmation trigger runs (``trigger_latency``)."""


@dataclass(slots=True)
class Rule:
    code: str
    message: str
    status: int
    remaining: int | None


_Handler = Callable[[_Call], dict[str, object] | None]


class Backend:
    """Everything the fake knows, behind one ``threading.Lock``.

    Why a lock: the asyncio loop serves requests in its own thread while the test thread adds
    users, scripts failures and reads stats. No lock is ever held across an ``await``.
    """

    def __init__(
        self,
        pool_id: str,
        config: Config,
        seed: int,
        invalid_keys: Collection[str],
        denied_keys: Collection[str],
    ) -> None:
        self.pool_id = pool_id
        self._lock = threading.Lock()
        self._config = config
        self._clock: Callable[[], float] = time.monotonic
        self._buckets: dict[str, QuotaGate | None] = {}
        self._rebuild_buckets()
        self._rng = random.Random(seed)  # noqa: S311 - fault injection, not cryptography
        self._invalid_keys = frozenset(invalid_keys)
        self._denied_keys = frozenset(denied_keys)
        self._store = UserStore()
        self._rules: dict[str, Rule] = {}
        self._counters = Counters()
        self._in_flight = 0
        self._drops = 0
        self.faults = Faults(self.now)
        self._handlers: dict[str, _Handler] = {
            "AdminConfirmSignUp": self._confirm,
            "ListUsers": self._list_users,
            "AdminUpdateUserAttributes": self._update_attributes,
            "DescribeUserPool": self._describe_pool,
            "AdminGetUser": self._get_user,
            "SignUp": self._sign_up,
            "GetServiceQuota": self._service_quota,
            "GetAWSDefaultServiceQuota": self._service_quota,
        }

    # ----- control from the test side

    def add_users(self, users: Iterable[tuple[str, str, Mapping[str, str]]]) -> None:
        made = [new_user(self.pool_id, name, status, attrs) for name, status, attrs in users]
        with self._lock:
            if len(made) == 1:
                self._store.put(made[0])
            else:
                self._store.put_many(made)

    def fail(self, username: str, rule: Rule) -> None:
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

    def confirmations_in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def stats(self) -> FakeStats:
        with self._lock:
            snapshot = self._counters.snapshot()
        return self.faults.stamped(snapshot)

    def reset_stats(self) -> None:
        with self._lock:
            self._counters = Counters(max_in_flight=self._in_flight)
        self.faults.reset_counts()

    def now(self) -> float:
        """The fake's clock: the wall clock's, or the loop's of a ``LocalClient``."""
        return self._clock()

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Measure quotas, timed faults and stats on ``clock`` from now on."""
        with self._lock:
            self._clock = clock
            self._rebuild_buckets()

    @property
    def latency(self) -> float:
        with self._lock:
            return self._config.latency

    def trigger_latency(self, call: _Call) -> float:
        """Seconds ``call``'s post-confirmation trigger takes: 0 unless it confirmed a user."""
        if not call.triggered:
            return 0.0
        with self._lock:
            return self._config.trigger_latency

    def _rebuild_buckets(self) -> None:
        config, old, clock = self._config, self._buckets, self.now
        windows = config.quota_windows
        self._buckets = {
            "UserCreation": quota_gate(
                config.quota, config.burst, old.get("UserCreation"), windows=windows, clock=clock
            ),
            "UserList": quota_gate(
                config.list_quota, None, old.get("UserList"), windows=windows, clock=clock
            ),
            "UserUpdate": quota_gate(
                config.update_quota, None, old.get("UserUpdate"), windows=windows, clock=clock
            ),
        }

    # ----- the request path: receive, authorize, (sleep), execute, finish

    def receive(self, action: str, raw_body: bytes, authorization: str) -> _Call:
        """Count the request the moment it arrives (throughput and in-flight are measured here)."""
        body = _json_object(raw_body)
        call = _Call(action, body, access_key(authorization), action == "AdminConfirmSignUp")
        with self._lock:
            counters = self._counters
            counters.requests[action] += 1
            if call.confirm:
                username = None if body is None else body.get("Username")
                counters.confirm_calls[str(username)] += 1
                now = self.now()
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
        if call.action in _UNSIGNED:
            return
        key = call.access_key
        if key is None:
            raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token")
        if key in self._invalid_keys:
            raise ApiError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if call.action in SERVICE_QUOTAS_ACTIONS:
            if self._config.service_quotas_denied:
                raise ApiError("AccessDeniedException", self._denial(key, call, "servicequotas"))
            return
        if key in self._denied_keys:
            raise ApiError("AccessDeniedException", self._denial(key, call))

    def _denial(self, key: str, call: _Call, service: str = "cognito-idp") -> str:
        pool = self.pool_id if call.body is None else call.body.get("UserPoolId", self.pool_id)
        operation = f"{service}:{call.action}"
        return (
            f"User: arn:aws:iam::{_ACCOUNT}:user/{key} is not authorized to perform: "
            f"{operation} on resource: {_pool_arn(str(pool))} because no identity-based "
            f"policy allows the {operation} action"
        )

    def execute(self, call: _Call) -> dict[str, object] | None:
        """The answer's JSON payload, ``None`` to drop the connection, or an ``ApiError``."""
        handler = self._handlers.get(call.action)
        if handler is None:
            raise ApiError("UnknownOperationException", f"Unknown operation {call.action}")
        with self._lock:
            try:
                return handler(call)
            except ApiError as error:
                self._count_fault(call, error)
                raise

    def _count_fault(self, call: _Call, error: ApiError) -> None:
        if error.code == "TooManyRequestsException":
            self._counters.throttled += 1
            self._counters.throttled_by_action[call.action] += 1
        elif error.code == "InternalErrorException":
            self._counters.internal_errors += 1

    # ----- actions (called with the lock held)

    def _confirm(self, call: _Call) -> dict[str, object] | None:
        if not self._inject(call):
            return None
        body = self._pool_body(call)
        username = required_str(body, "Username")
        self._scripted(username)
        user = self._user(username)
        if user.status != UNCONFIRMED:
            if user.status == CONFIRMED:
                self._counters.already_confirmed[username] += 1
            raise ApiError(
                "NotAuthorizedException",
                f"User cannot be confirmed. Current status is {user.status}",
            )
        self._store.set_status(user, CONFIRMED)
        self._counters.confirmations[username] += 1
        call.triggered = True
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
            raise ApiError(
                "InternalErrorException", DEFAULT_MESSAGES["InternalErrorException"], 500
            )
        self._throttle(call)
        return True

    def _throttle(self, call: _Call) -> None:
        bucket = self._buckets.get(_CATEGORY.get(call.action, ""))
        if bucket is not None and not bucket.take():
            raise ApiError("TooManyRequestsException", "Rate exceeded")

    def _pool_body(self, call: _Call) -> dict[str, object]:
        if call.body is None:
            raise ApiError(
                "SerializationException", "Start of structure or map found where not expected."
            )
        pool_id = required_str(call.body, "UserPoolId")
        if pool_id != self.pool_id:
            raise ApiError("ResourceNotFoundException", f"User pool {pool_id} does not exist.")
        return call.body

    def _scripted(self, username: str) -> None:
        rule = self._rules.get(username)
        if rule is None:
            return
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self._rules[username]
        raise ApiError(rule.code, rule.message, rule.status)

    def _user(self, username: str) -> User:
        user = self._store.get(username)
        if user is None:
            raise ApiError("UserNotFoundException", "User does not exist.")
        return user

    def _list_users(self, call: _Call) -> dict[str, object]:
        self._throttle(call)
        body = self._pool_body(call)
        flt = Filter.parse(str(body.get("Filter") or ""))
        limit, offset, names = page_limit(body), decode_token(body), names_to_get(body)
        users = self._store.select(flt, offset, limit)
        page: dict[str, object] = {"Users": [u.as_list_entry(names) for u in users[:limit]]}
        if len(users) > limit:
            page["PaginationToken"] = encode_token(offset + limit)
        return page

    def _update_attributes(self, call: _Call) -> dict[str, object]:
        self._throttle(call)
        body = self._pool_body(call)
        user = self._user(required_str(body, "Username"))
        user.attributes.update(attribute_updates(body))
        user.modified = time.time()
        return {}

    def _describe_pool(self, call: _Call) -> dict[str, object]:
        self._pool_body(call)
        pool = {
            "Id": self.pool_id,
            "Name": "fake",
            "Arn": _pool_arn(self.pool_id),
            "EstimatedNumberOfUsers": len(self._store),
            "UsernameConfiguration": {"CaseSensitive": self._config.case_sensitive},
        }
        return {"UserPool": pool}

    def _sign_up(self, call: _Call) -> dict[str, object]:
        """A live sign-up: it draws on the UserCreation quota as AdminConfirmSignUp does."""
        self._throttle(call)
        body = call.body or {}
        required_str(body, "ClientId")
        username = required_str(body, "Username")
        required_str(body, "Password")
        if self._store.get(username) is not None:
            raise ApiError("UsernameExistsException", "User already exists")
        user = new_user(self.pool_id, username, UNCONFIRMED, {})
        self._store.put(user)
        return {"UserConfirmed": False, "UserSub": user.attributes["sub"]}

    def _service_quota(self, call: _Call) -> dict[str, object]:
        return service_quota(call.action, call.body or {}, self._config.service_quota)

    def _get_user(self, call: _Call) -> dict[str, object]:
        user = self._user(required_str(self._pool_body(call), "Username"))
        return {
            "Username": user.username,
            "UserStatus": user.status,
            "UserAttributes": attribute_list(user.attributes),
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
