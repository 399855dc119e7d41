"""``CognitoConfirmer``: one long-lived aiobotocore client that confirms users.

The confirmer owns the client's lifetime (unopened, open, closed) and its configuration; the
work is done below it: one user in ``_confirm``, many in ``_bulk``.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import random
from collections.abc import AsyncIterable, Iterable, Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.loaders import Loader, create_loader

from ._answers import register_answer_check
from ._bulk import ResultStream, collect
from ._clock import now as loop_time
from ._confirm import confirm_user
from ._errors import BOTOCORE_SETUP_EXCEPTIONS, ClientStateError, CredentialsError
from ._gate import DEFAULT_OUTAGE_BUDGET
from ._peers import census_of
from ._quota import DEFAULT_RESERVE, QuotaReading, read_user_creation_quota
from ._ratelimit import AdaptiveRateLimiter
from ._result import BulkReport, ConfirmResult
from ._retry import RetryPolicy
from ._triage import SkipCheck
from ._useragent import remember_user_agent
from ._validation import check_client_metadata, check_user_pool_id, check_username, region_of

if TYPE_CHECKING:
    from types_aiobotocore_cognito_idp import CognitoIdentityProviderClient

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_RATE",
    "DEFAULT_READ_TIMEOUT",
    "CognitoConfirmer",
]

logger = logging.getLogger("cognito_confirm")

DEFAULT_MAX_CONNECTIONS: Final = 64
DEFAULT_RATE: Final = 40.0
"""AdminConfirmSignUp calls per second at most, by default: 80% of Cognito's default 50/s
UserCreation quota, which live sign-ups share."""
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
"""Seconds to open a connection, on the client built here (botocore's ``connect_timeout``)."""
DEFAULT_READ_TIMEOUT: Final = 30.0
"""Seconds to wait for an answer, on the client built here (botocore's ``read_timeout``)."""
DEFAULT_MAX_WAIT: Final = 5.0
"""Seconds ``confirm()`` waits for its slot in the shared pace before it gives up."""
_USER_AGENT: Final = "cognito-confirm"


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class CognitoConfirmer:
    """Confirms Cognito users as an administrator through one long-lived aiobotocore client.

    Use it as an async context manager, once:

        async with CognitoConfirmer("eu-west-1_AbC123") as confirmer:
            result = await confirmer.confirm("alice")

    Configuration follows the AWS chain users already know: ``profile_name`` or ``AWS_PROFILE``,
    the usual credentials, ``endpoint_url`` or ``AWS_ENDPOINT_URL`` /
    ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER``. The region is ``region_name`` if given,
    otherwise the one the pool id starts with (``eu-west-1`` above), otherwise the profile's.

    ``session=`` takes an aiobotocore ``AioSession``, or an aioboto3 ``Session`` (the
    ``AioSession`` it wraps is used), to create the client from: its profile, credentials and
    region then apply. Anything else raises ``TypeError``. ``client=`` takes an aiobotocore
    ``cognito-idp`` client the caller owns and keeps open: it is used as it is and never closed.
    Its own retries then add to ours (give it ``retries={"total_max_attempts": 1}`` to keep
    ``attempts`` exact). Either client gets one
    ``before-parse`` event handler, which marks answers whose body is not JSON: every answer is
    checked to come from AWS, and one that does not raises ``EndpointNotCognitoError``.

    Botocore's retries are switched off on the client built here: ``retry`` is the one retry layer.
    It also builds each distinct User-Agent header once rather than twice a call (``_useragent``).

    Every call this confirmer makes, ``confirm()`` and bulk runs alike, keeps one pace
    (``limiter``), which yields to the live sign-ups that share Cognito's UserCreation quota:

    - ``rate``: the most AdminConfirmSignUp calls per second you allow (default 40, 80% of the
      default quota); ``None`` for no ceiling of yours (the pace still learns the quota from
      throttling); ``"auto"`` for the account's applied quota, read once from Service Quotas
      when the confirmer opens, less ``reserve`` (default 20%) for live traffic.
    - ``limiter``: a pacer to share with other confirmers of the same account and region (the
      quota is per account, summed over pools); ``rate`` is then ignored.
    - ``max_wait``: how long ``confirm()`` waits for its slot before raising ``ThrottledError``
      without calling Cognito (its ``retry_after`` says when to try again).

    ``case_sensitive=False`` says the pool's usernames are case-insensitive
    (``UsernameConfiguration.CaseSensitive`` false in ``DescribeUserPool``, the setting AWS
    recommends): bulk runs then send ``Alice``, ``alice`` and ``ALICE`` once and report the
    others as duplicates. The confirmer never calls DescribeUserPool itself (it needs
    ``cognito-idp:DescribeUserPool``, which a confirm-only role may lack): pass what you know of
    the pool; the command line reads it.
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
        session: AioSession | object | None = None,
        retry: RetryPolicy | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        rate: float | Literal["auto"] | None = DEFAULT_RATE,
        reserve: float = DEFAULT_RESERVE,
        limiter: AdaptiveRateLimiter | None = None,
        max_wait: float | None = DEFAULT_MAX_WAIT,
        case_sensitive: bool = True,
    ) -> None:
        self.user_pool_id = check_user_pool_id(user_pool_id)
        if max_connections < 1:
            msg = f"max_connections must be at least 1, got {max_connections}"
            raise ValueError(msg)
        if not 0 <= reserve < 1:
            msg = f"reserve must be a share of the quota in [0, 1), got {reserve}"
            raise ValueError(msg)
        if max_wait is not None and not max_wait >= 0:
            msg = f"max_wait must be a number of seconds >= 0 or None, got {max_wait}"
            raise ValueError(msg)
        if limiter is None and rate != "auto":
            limiter = AdaptiveRateLimiter(_checked_rate(rate))
        self._limiter = limiter
        self._reserve = reserve
        self.max_wait = max_wait
        self.case_sensitive = case_sensitive
        """False for a pool whose usernames are case-insensitive: bulk runs then count
        ``Alice`` after ``alice`` as a duplicate (see ``Triage``)."""
        self.quota: QuotaReading | None = None
        """What ``rate="auto"`` read from Service Quotas (None for any other rate)."""
        self._region_name = region_name or region_of(user_pool_id)
        self._endpoint_url = endpoint_url
        self._profile_name = profile_name
        self._config = config
        self._injected = client
        self._session = None if session is None else _aio_session(session)
        self._client: CognitoIdentityProviderClient | None = None
        self._exit_stack: AsyncExitStack | None = None
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        self.retry = retry if retry is not None else RetryPolicy()
        self._max_connections = max_connections
        self._rng = random.Random()  # noqa: S311 - backoff jitter, not security

    def __repr__(self) -> str:
        if self._limiter is None:
            pace = "rate=auto"
        else:
            ceiling = self._limiter.max_rate
            shown = "None" if ceiling is None else f"{ceiling:g}/s"
            pace = f"rate={self._limiter.rate:.1f}/s max_rate={shown}"
        return (
            f"<CognitoConfirmer user_pool_id={self.user_pool_id!r} "
            f"region={self._region_name!r} state={self._state.value} {pace}>"
        )

    async def __aenter__(self) -> Self:
        if self._state is not _State.UNOPENED:
            msg = f"this CognitoConfirmer is {self._state.value}; create a new one"
            raise ClientStateError(msg)
        self._state = _State.OPEN
        self._loop = asyncio.get_running_loop()
        if self._injected is not None:
            self._client = self._injected
        else:
            stack = AsyncExitStack()
            try:
                self._client = await stack.enter_async_context(self._create_client())
            except BOTOCORE_SETUP_EXCEPTIONS as exc:
                await stack.aclose()
                self._state = _State.CLOSED
                raise CredentialsError(str(exc)) from exc
            except BaseException:
                await stack.aclose()
                self._state = _State.CLOSED
                raise
            self._exit_stack = stack
            remember_user_agent(self._client)
        register_answer_check(self._client)
        if self._limiter is None:
            await self._pace_from_quota()
        logger.info(
            "confirmer open: user pool %s, region %s, pace %.1f calls/s",
            self.user_pool_id,
            self._region_name,
            self.limiter.rate,
        )
        return self

    async def _pace_from_quota(self) -> None:
        """``rate="auto"``: the applied UserCreation quota less the reserve for live traffic."""
        try:
            session = self._session or _new_session(self._profile_name)
            self.quota = await read_user_creation_quota(
                session, self._region_name, cognito_endpoint=self.client.meta.endpoint_url
            )
        except BaseException:
            await self.aclose()
            raise
        self._limiter = AdaptiveRateLimiter(self.quota.pace(self._reserve), quota=self.quota.value)

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
        session = self._session or _new_session(self._profile_name)
        config = AioConfig(
            max_pool_connections=self._max_connections,
            connect_timeout=DEFAULT_CONNECT_TIMEOUT,
            read_timeout=DEFAULT_READ_TIMEOUT,
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
        if _running_loop() not in (None, self._loop):
            # aiobotocore's connections belong to the loop that opened them: from another one a
            # call fails only after its retries, leaving a transport unclosed.
            msg = (
                "this CognitoConfirmer was opened on another event loop: open one per loop "
                "(or thread), inside that loop's `async with`"
            )
            raise ClientStateError(msg)
        return self._client

    @property
    def limiter(self) -> AdaptiveRateLimiter:
        """The pace every call of this confirmer keeps (its ``rate``, ``throttles``, ``cuts``)."""
        if self._limiter is None:
            msg = "with rate='auto' the pace is known once the confirmer is open (async with)"
            raise ClientStateError(msg)
        return self._limiter

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
        max_wait: float | Literal["default"] | None = "default",
    ) -> ConfirmResult:
        """Confirm one user; an already confirmed user is a success, not an error.

        Returns a result whose outcome is ``CONFIRMED`` or ``ALREADY_CONFIRMED``. Transient
        failures are retried as ``retry`` says, in the confirmer's shared pace. Raises
        ``InvalidUsernameError`` (a ``ValueError``) before any call for a username botocore's
        model rejects, ``InvalidClientMetadataError`` (a ``ValueError``) likewise for
        ``client_metadata`` that is not a map of strings to strings,
        ``ThrottledError`` (with ``retry_after``) when the pace has no slot, or
        no room for a retry, within ``max_wait`` seconds (default: the confirmer's; None waits
        as long as it takes), and a ``CognitoConfirmError`` subclass for every other failure.
        """
        check_username(username)
        metadata = check_client_metadata(client_metadata)
        wait = self.max_wait if max_wait == "default" else max_wait
        confirmation = await confirm_user(
            self.client,
            self.user_pool_id,
            username,
            client_metadata=metadata,
            policy=self.retry,
            limiter=self.limiter,
            rng=self._rng,
            deadline=None if wait is None else loop_time() + wait,
        )
        return confirmation.unwrap()

    def stream(
        self,
        usernames: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int | None = None,
        client_metadata: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        skip: SkipCheck | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        outage_budget: float = DEFAULT_OUTAGE_BUDGET,
    ) -> ResultStream:
        """Confirm many users concurrently; see ``cognito_confirm.ResultStream``.

        The run keeps the confirmer's pace (shared with its ``confirm()`` calls and other runs)
        unless ``limiter`` gives it another. The calls in flight follow the pace and the
        latency measured; ``concurrency`` caps them (``None``: ``max_connections``).
        ``outage_budget`` is how many seconds without an answer the run waits out (holding its
        users) before it stops with ``EndpointUnreachableError``. Raises ``ClientStateError``
        outside the confirmer's ``async with`` block, and ``InvalidClientMetadataError`` (a
        ``ValueError``) for ``client_metadata`` that is not a map of strings to strings, before
        anything is sent.
        """
        metadata = check_client_metadata(client_metadata)
        peers = census_of(self.client, self._region_name or "")
        confirm = functools.partial(
            confirm_user,
            self.client,
            self.user_pool_id,
            client_metadata=metadata,
            policy=retry or self.retry,
            rng=self._rng,
        )
        return ResultStream(
            usernames,
            confirm=confirm,
            concurrency=concurrency,
            connections=self.max_connections,
            limiter=limiter if limiter is not None else self.limiter,
            skip=skip,
            outage_budget=outage_budget,
            case_sensitive=self.case_sensitive,
            peers=peers,
        )

    async def confirm_many(
        self,
        usernames: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int | None = None,
        client_metadata: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        outage_budget: float = DEFAULT_OUTAGE_BUDGET,
    ) -> BulkReport:
        """Confirm many users and return every result in input order (see ``stream()``).

        A ``SetupError`` that stops the run, or an exception the input raised, is raised with a
        ``partial_report`` attribute: the results of the users completed before it.
        """
        stream = self.stream(
            usernames,
            concurrency=concurrency,
            client_metadata=client_metadata,
            retry=retry,
            limiter=limiter,
            outage_budget=outage_budget,
        )
        return await collect(stream)


_LOADERS: Final[dict[str | None, Loader]] = {}
"""botocore's data loaders by data path (``AWS_DATA_PATH``), shared by the sessions made here."""


def _new_session(profile: str | None) -> AioSession:
    """A session of the confirmer's own, with the process's botocore data loader for its path.

    Why shared: a new session's loader parses the service models' JSON again (80 ms of CPU a
    confirmer), and those new objects cost again later: they bring on a full pass of the
    garbage collector over the whole heap (50-100 ms) during the run's first calls. The loader
    reads files and caches what it parsed, which every client of a session shares already;
    sessions share it the same way.
    """
    session = AioSession(profile=profile)
    try:
        data_path = session.get_config_variable("data_path")
    except botocore.exceptions.BotoCoreError:
        return session  # a broken profile: creating the client says so, as before
    loader = _LOADERS.get(data_path)
    if loader is None:
        loader = _LOADERS[data_path] = create_loader(data_path)
    session.register_component("data_loader", loader)
    return session


def _aio_session(session: object) -> AioSession:
    """The aiobotocore session that ``session`` is, or that an aioboto3 ``Session`` wraps."""
    if isinstance(session, AioSession):
        return session
    # aioboto3.Session, like boto3's, keeps its core session in ``_session``: aioboto3 is not a
    # dependency, so it is recognised by what it holds rather than imported.
    inner = getattr(session, "_session", None)
    if isinstance(inner, AioSession):
        return inner
    msg = (
        "session= takes an aiobotocore AioSession (aiobotocore.session.AioSession()) or an "
        f"aioboto3 Session (aioboto3.Session()), not {type(session).__name__}"
    )
    raise TypeError(msg)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _checked_rate(rate: object) -> float | None:
    """A rate the pacer takes: a positive finite number, or None."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
        msg = f"rate must be a positive number of calls per second, 'auto' or None, got {rate!r}"
        raise ValueError(msg)
    return float(rate)
