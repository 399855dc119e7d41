"""``CognitoConfirmer``: one long-lived aiobotocore client that confirms users."""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import anyio
import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from ._bulk import ResultStream, SkipCheck
from ._errors import (
    ALREADY_CONFIRMED_STATUS,
    ClientStateError,
    CognitoConfirmError,
    CredentialsError,
    InvalidParameterError,
    NotAuthorizedError,
    NotConfirmableError,
    SetupError,
    TransportError,
    error_class_for,
    user_status_in,
)
from ._ratelimit import AdaptiveRateLimiter
from ._result import BulkReport, ConfirmResult, Outcome
from ._retry import RetryPolicy
from ._validation import check_user_pool_id, check_username, region_of

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

__all__ = ["CognitoConfirmer"]

logger = logging.getLogger("cognito_confirm")

DEFAULT_MAX_CONNECTIONS: Final = 64
_T = TypeVar("_T")
_USER_AGENT: Final = "cognito-confirm"

_SETUP_EXCEPTIONS: Final = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.CredentialRetrievalError,
    botocore.exceptions.NoRegionError,
    botocore.exceptions.ProfileNotFound,
    botocore.exceptions.ConfigNotFound,
)
_TRANSPORT_EXCEPTIONS: Final = (
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.ConnectionError,
)


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class _Done:
    """Internal: how the attempts for one user ended (a success outcome or a final error)."""

    outcome: Outcome | None
    error: CognitoConfirmError | None
    attempts: int
    elapsed: float
    request_id: str | None


class CognitoConfirmer:
    """Confirms Cognito users as an administrator through one long-lived aiobotocore client.

    Use it as an async context manager, once::

        async with CognitoConfirmer("eu-west-1_AbC123") as confirmer:
            result = await confirmer.confirm("alice")

    Configuration follows the AWS chain users already know: ``profile_name`` or ``AWS_PROFILE``,
    the usual credentials, ``endpoint_url`` or ``AWS_ENDPOINT_URL`` /
    ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``. The region is ``region_name`` if given,
    otherwise the one the pool id starts with (``eu-west-1`` above), otherwise the profile's.

    ``session=`` takes an ``AioSession`` to create the client from (its profile and credentials
    then apply). ``client=`` takes an aiobotocore ``cognito-idp`` client the caller owns and
    keeps open: it is used as it is and never closed. Its own retries then add to ours (give it
    ``retries={"total_max_attempts": 1}`` to keep ``attempts`` exact).

    Botocore's retries are switched off on the client built here: ``retry`` is the one retry layer.
    """

    def __init__(
        self,
        user_pool_id: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        config: AioConfig | None = None,
        client: CognitoIdentityProviderClient | None = None,
        session: AioSession | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.user_pool_id = check_user_pool_id(user_pool_id)
        if max_connections < 1:
            msg = f"max_connections must be at least 1, got {max_connections}"
            raise ValueError(msg)
        self._region_name = region_name or region_of(user_pool_id)
        self._endpoint_url = endpoint_url
        self._profile_name = profile_name
        self._config = config
        self._injected = client
        self._session = session
        self._client: CognitoIdentityProviderClient | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._state = _State.UNOPENED
        self.retry = retry if retry is not None else RetryPolicy()
        self._max_connections = max_connections
        self._rng = random.Random()  # noqa: S311 - backoff jitter, not security

    async def __aenter__(self) -> Self:
        if self._state is not _State.UNOPENED:
            msg = f"this CognitoConfirmer is {self._state.value}; create a new one"
            raise ClientStateError(msg)
        self._state = _State.OPEN
        if self._injected is not None:
            self._client = self._injected
            return self
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(self._create_client())
        except _SETUP_EXCEPTIONS as exc:
            await stack.aclose()
            self._state = _State.CLOSED
            raise CredentialsError(str(exc)) from exc
        except BaseException:
            await stack.aclose()
            self._state = _State.CLOSED
            raise
        self._exit_stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client this confirmer created (never an injected one); idempotent."""
        self._state = _State.CLOSED
        self._client = None
        stack, self._exit_stack = self._exit_stack, None
        if stack is not None:
            await stack.aclose()

    def _create_client(self) -> Any:
        session = self._session or AioSession(profile=self._profile_name)
        config = AioConfig(
            max_pool_connections=self._max_connections,
            connect_timeout=10,
            read_timeout=30,
            user_agent_extra=_USER_AGENT,
        )
        if self._config is not None:
            config = config.merge(self._config)
        config = config.merge(AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}))
        return session.create_client(
            "cognito-idp",
            region_name=self._region_name,
            endpoint_url=self._endpoint_url,
            config=config,
        )

    @property
    def client(self) -> CognitoIdentityProviderClient:
        """The open aiobotocore client, for calls this library does not wrap."""
        if self._state is not _State.OPEN or self._client is None:
            msg = (
                f"this CognitoConfirmer is {self._state.value}: use it inside "
                "`async with CognitoConfirmer(...) as confirmer:`"
            )
            raise ClientStateError(msg)
        return self._client

    @property
    def max_connections(self) -> int:
        """How many calls the client's connection pool can carry at once."""
        if self._injected is not None:
            pool_size = getattr(self._injected.meta.config, "max_pool_connections", None)
            return int(pool_size or 10)
        return self._max_connections

    async def confirm(
        self,
        username: str,
        *,
        client_metadata: Mapping[str, str] | None = None,
    ) -> ConfirmResult:
        """Confirm one user; an already confirmed user is a success, not an error.

        Returns a result whose outcome is ``CONFIRMED`` or ``ALREADY_CONFIRMED``. Transient
        failures are retried as ``retry`` says. Raises ``InvalidUsernameError`` (a ``ValueError``)
        before any call for a username botocore's model rejects, and a ``CognitoConfirmError``
        subclass for every other failure.
        """
        check_username(username)
        client = self.client
        done = await self.confirm_attempts(username, client_metadata=client_metadata, client=client)
        if done.error is not None:
            raise done.error
        assert done.outcome is not None  # noqa: S101 - _Done holds one or the other
        return ConfirmResult(
            username=username,
            outcome=done.outcome,
            error_code="NotAuthorizedException"
            if done.outcome is Outcome.ALREADY_CONFIRMED
            else None,
            attempts=done.attempts,
            elapsed=done.elapsed,
            request_id=done.request_id,
            user_status=ALREADY_CONFIRMED_STATUS,
        )

    async def confirm_attempts(
        self,
        username: str,
        *,
        client_metadata: Mapping[str, str] | None,
        client: CognitoIdentityProviderClient,
        limiter: AdaptiveRateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> _Done:
        """Internal: call AdminConfirmSignUp until it succeeds or the retry policy gives up."""
        policy = retry or self.retry
        started = time.monotonic()
        attempts = 0
        while True:
            sent_at = await limiter.acquire() if limiter is not None else 0.0
            attempts += 1
            try:
                request_id = await self._call(client, username, client_metadata)
            except CognitoConfirmError as error:
                outcome = _already_confirmed(error)
                if outcome is not None:
                    return _Done(outcome, None, attempts, _since(started), error.request_id)
                if error.code == "TooManyRequestsException" and limiter is not None:
                    limiter.throttled(sent_at)
                if not policy.should_retry(error, attempts):
                    return _Done(None, error, attempts, _since(started), error.request_id)
                logger.debug("retrying %s after %s (attempt %d)", username, error.code, attempts)
                await anyio.sleep(policy.backoff(attempts, self._rng))
            else:
                return _Done(Outcome.CONFIRMED, None, attempts, _since(started), request_id)

    async def _call(
        self,
        client: CognitoIdentityProviderClient,
        username: str,
        client_metadata: Mapping[str, str] | None,
    ) -> str | None:
        kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "Username": username}
        if client_metadata:
            kwargs["ClientMetadata"] = dict(client_metadata)
        response = await translated(lambda: client.admin_confirm_sign_up(**kwargs), username)
        logger.debug("confirmed %s", username)
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        return str(request_id) if request_id else None

    def stream(
        self,
        usernames: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = 16,
        rate: float | None = 40.0,
        client_metadata: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        skip: SkipCheck | None = None,
        limiter: AdaptiveRateLimiter | None = None,
    ) -> ResultStream:
        """Confirm many users concurrently; see ``cognito_confirm.ResultStream``.

        ``rate`` is requests per second for this run (None: unlimited). Runs that must share
        one pace, e.g. concurrent batches in one web service, pass the same ``limiter``
        instead, and ``rate`` is then ignored.
        """
        return ResultStream(
            self,
            usernames,
            concurrency=concurrency,
            rate=rate,
            client_metadata=client_metadata,
            retry=retry,
            skip=skip,
            limiter=limiter,
        )

    async def confirm_many(
        self,
        usernames: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = 16,
        rate: float | None = 40.0,
        client_metadata: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        limiter: AdaptiveRateLimiter | None = None,
    ) -> BulkReport:
        """Confirm many users and return every result in input order."""
        started = time.monotonic()
        results: list[ConfirmResult] = []
        try:
            async with self.stream(
                usernames,
                concurrency=concurrency,
                rate=rate,
                client_metadata=client_metadata,
                retry=retry,
                limiter=limiter,
            ) as stream:
                async for result in stream:
                    results.append(result)
        except SetupError as error:
            error.partial_report = BulkReport.from_results(results, _since(started))
            raise
        return BulkReport.from_results(results, _since(started))


def _since(started: float) -> float:
    return time.monotonic() - started


def _already_confirmed(error: CognitoConfirmError) -> Outcome | None:
    if isinstance(error, NotConfirmableError) and error.status == ALREADY_CONFIRMED_STATUS:
        return Outcome.ALREADY_CONFIRMED
    return None


async def translated(operation: Callable[[], Awaitable[_T]], username: str | None = None) -> _T:
    """Await one Cognito call, turning botocore's exceptions into this library's errors."""
    try:
        return await operation()
    except botocore.exceptions.ClientError as exc:
        raise translate_client_error(exc, username) from exc
    except _SETUP_EXCEPTIONS as exc:
        raise CredentialsError(str(exc), username=username) from exc
    except _TRANSPORT_EXCEPTIONS as exc:
        raise TransportError(str(exc), username=username) from exc
    except botocore.exceptions.ParamValidationError as exc:
        raise InvalidParameterError(str(exc), username=username) from exc


def translate_client_error(
    exc: botocore.exceptions.ClientError, username: str | None
) -> CognitoConfirmError:
    """The typed error for a botocore ClientError from a Cognito call."""
    error: Mapping[str, Any] = exc.response.get("Error", {})
    metadata: Mapping[str, Any] = exc.response.get("ResponseMetadata", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")) or code
    http_status = metadata.get("HTTPStatusCode")
    context: dict[str, Any] = {
        "username": username,
        "code": code,
        "request_id": metadata.get("RequestId"),
        "http_status": http_status,
    }
    cls = error_class_for(code, http_status)
    if cls is NotAuthorizedError:
        status = user_status_in(message)
        if status is not None:
            return NotConfirmableError(message, status=status, **context)
    return cls(message, **context)
