"""The fake answering in-process, on the caller's event loop: ``FakeCognito.local_client()``.

Why: a test that reasons about time (pacing, backoff, outage holds, grace periods, the quota's
refill, a fault that lasts two seconds) must not depend on the machine's speed. Over HTTP the
fake serves from its own thread on the wall clock, so a loaded machine changes the answers.
``LocalClient`` runs the very same ``Backend`` (quota models, scripted failures, drops, faults,
latency) inside the caller's loop and on that loop's clock (``anyio.current_time``) and sleep:
under a virtual-time loop (``looptime``) a two-second outage takes no wall time at all and
every run gives the same answer. There is no socket, so virtual time never outruns real I/O.

It raises what botocore raises for the same answer: ``ClientError`` with the code, message,
HTTP status and request id; ``EndpointConnectionError`` for a refused connection;
``ConnectionClosedError`` for a dropped one; ``ReadTimeoutError`` once a hanging call passes
``read_timeout``. What needs bytes on the wire (the answer checks of ``_answers``, a proxy's
HTML page) is the HTTP fake's job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import anyio
import botocore.exceptions

from ._faults import AMZ_JSON, Answer
from ._model import ApiError

if TYPE_CHECKING:
    from ._backend import Backend

__all__ = ["LocalClient"]

_HANG_POLL: Final = 0.05
"""How often a hanging call looks whether the outage ended (seconds of loop time)."""
ROUND_TRIP: Final = 0.001
"""Loop seconds a refused or dropped connection takes to fail (a loopback round trip): over
HTTP nothing fails in no time, and a retry loop that sees failures in zero time would race
the other calls in flight in a way no network allows."""
_OPERATIONS: Final[Mapping[str, str]] = {
    "admin_confirm_sign_up": "AdminConfirmSignUp",
    "admin_update_user_attributes": "AdminUpdateUserAttributes",
    "admin_get_user": "AdminGetUser",
    "describe_user_pool": "DescribeUserPool",
    "list_users": "ListUsers",
    "sign_up": "SignUp",
}


@dataclass(frozen=True, slots=True)
class _Config:
    max_pool_connections: int


@dataclass(frozen=True, slots=True)
class _Meta:
    config: _Config
    region_name: str = "us-east-1"
    endpoint_url: str = "local://fake-cognito"


@dataclass(eq=False)
class LocalClient:
    """An in-process stand-in for an aiobotocore ``cognito-idp`` client, for ``client=``.

    Made by `FakeCognito.local_client()`; use it only on the event loop that made it. At
    most ``max_pool_connections`` calls are in flight at once, the others wait, as on
    aiobotocore's connection pool. Its methods take botocore's keyword arguments and return
    botocore's parsed answers (with ``ResponseMetadata``).
    """

    _backend: Backend
    access_key: str = "testing"
    read_timeout: float = 60.0
    max_pool_connections: int = 10
    meta: _Meta = field(init=False)
    _pool: anyio.CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.meta = _Meta(_Config(self.max_pool_connections))
        self._pool = anyio.CapacityLimiter(self.max_pool_connections)

    def __getattr__(self, name: str) -> Any:
        action = _OPERATIONS.get(name)
        if action is None:
            raise AttributeError(name)

        async def operation(**params: Any) -> dict[str, Any]:
            return await self.call(action, params)

        return operation

    async def __aenter__(self) -> LocalClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        return None

    async def close(self) -> None:
        """Nothing to close (no connection); here because a real client has it."""

    async def call(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """One Cognito call by its API name (``AdminConfirmSignUp``) with its parameters."""
        async with self._pool:
            return await self._serve(action, params)

    async def _serve(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        backend = self._backend
        fault = backend.faults.on_request()
        if fault is not None and not isinstance(fault, Answer):
            await self._go_dark(fault)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=self.meta.endpoint_url)
        authorization = f"AWS4-HMAC-SHA256 Credential={self.access_key}/20260101/us-east-1/"
        call = backend.receive(action, json.dumps(dict(params)).encode(), authorization)
        try:
            if fault is not None:
                raise _answered(fault, action)
            backend.authorize(call)
            if backend.latency > 0:
                await anyio.sleep(backend.latency)
            payload = backend.execute(call)
            if trigger := backend.trigger_latency(call):
                await anyio.sleep(trigger)
        except ApiError as error:
            raise _client_error(error, action) from None
        finally:
            backend.finish(call)
        if payload is None or call.drop_after:
            await anyio.sleep(ROUND_TRIP)
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=self.meta.endpoint_url)
        return {**payload, "ResponseMetadata": _metadata(200, AMZ_JSON)}

    async def _go_dark(self, mode: str) -> None:
        await anyio.sleep(ROUND_TRIP)
        if mode == "refuse":
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=self.meta.endpoint_url)
        if mode == "hang":
            with anyio.move_on_after(self.read_timeout) as scope:
                while self._backend.faults.dark()[0] == "hang":  # noqa: ASYNC110 - heal() may come from a sync test step
                    await anyio.sleep(_HANG_POLL)
            if scope.cancelled_caught:
                raise botocore.exceptions.ReadTimeoutError(endpoint_url=self.meta.endpoint_url)


def _metadata(status: int, content_type: str, request_id: bool = True) -> dict[str, Any]:
    request = str(uuid.uuid4())
    headers = {"content-type": content_type}
    if request_id:
        headers["x-amzn-requestid"] = request
    return {
        "RequestId": request if request_id else "",
        "HTTPStatusCode": status,
        "HTTPHeaders": headers,
        "RetryAttempts": 0,
    }


def _client_error(error: ApiError, action: str) -> botocore.exceptions.ClientError:
    response: Any = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": _metadata(error.status, AMZ_JSON),
    }
    return botocore.exceptions.ClientError(response, action)


def _answered(answer: Answer, action: str) -> botocore.exceptions.ClientError:
    """A takeover's answer as botocore reports it (only AWS JSON errors: pages need HTTP)."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if answer.content_type != AMZ_JSON or not isinstance(body, dict) or answer.status < 400:
        msg = "the local client answers only AWS errors: use the HTTP fake for other pages"
        raise NotImplementedError(msg)
    code = str(body.get("__type", HTTPStatus(answer.status).phrase))
    return _client_error(ApiError(code, str(body.get("message", "")), answer.status), action)
