"""The bulk engine: confirm many users concurrently, paced, with one result per input item.

Shape of a run (all inside one anyio task group, nothing outlives it)::

    usernames ──> producer ──(unbuffered)──> N workers ──(buffer N)──> consumer
                  validate,                  pace, call,
                  deduplicate, skip          retry

The producer reads the input only when a worker is free to take the next user, so memory holds
the users in flight plus the set of names seen (needed to report duplicates), never the input.
Invalid, duplicate and skipped items get their result straight from the producer, decided by
``Triage`` (which the command line's ``--dry-run`` uses too). A worker confirms a user with the
function it was given (``_confirm.confirm_user`` bound to a client): this module knows nothing of
``CognitoConfirmer``.
"""

from __future__ import annotations

import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from contextlib import aclosing
from types import TracebackType
from typing import Final, Protocol, Self, TypeVar

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._confirm import Confirmation, result_without_call
from ._errors import (
    ClientStateError,
    EndpointUnreachableError,
    SetupError,
    TransportError,
)
from ._ratelimit import AdaptiveRateLimiter
from ._result import BulkReport, ConfirmResult, Outcome
from ._validation import username_problem

__all__ = ["ConfirmUser", "ResultStream", "SkipCheck", "Triage", "collect"]

SkipCheck = Callable[[str], str | None]
"""Given a username, the reason to skip it (reported as ``skipped``), or None to send it."""


class ConfirmUser(Protocol):
    """Confirms one valid username: ``_confirm.confirm_user`` bound to a client and a pool."""

    def __call__(
        self, username: str, *, index: int, limiter: AdaptiveRateLimiter
    ) -> Awaitable[Confirmation]: ...


DUPLICATE_MESSAGE: Final = "duplicate of an earlier input item"
_CHECKPOINT_EVERY: Final = 256
_CLOSE_TIMEOUT: Final = 5.0
"""Seconds an async input may take to close once the run is over (even a cancelled one)."""

_Work = tuple[int, str]
_T = TypeVar("_T")


class Triage:
    """What happens to each input item before any call: invalid, duplicate, skipped, or sent.

    One per run, fed the items in input order: it remembers the names it has let through, so a
    later item with the same name is a duplicate.
    """

    def __init__(self, skip: SkipCheck | None = None) -> None:
        self._skip = skip
        self._seen: set[str] = set()

    def __call__(self, index: int, name: object) -> ConfirmResult | None:
        """The result of an item that is not to be sent, or None to send it."""
        problem = username_problem(name)
        if problem is not None:
            return result_without_call(str(name), index, Outcome.INVALID, problem)
        assert isinstance(name, str)  # noqa: S101 - username_problem checked it
        if name in self._seen:
            return result_without_call(name, index, Outcome.DUPLICATE, DUPLICATE_MESSAGE)
        self._seen.add(name)
        reason = self._skip(name) if self._skip is not None else None
        if reason is not None:
            return result_without_call(name, index, Outcome.SKIPPED, reason)
        return None


class ResultStream:
    """Confirms users concurrently and yields a ``ConfirmResult`` for each as it completes.

    Made by ``CognitoConfirmer.stream()``; use it as an async context manager, then iterate::

        async with confirmer.stream(usernames, concurrency=16, rate=40) as results:
            async for result in results:
                ...

    A context manager rather than a bare async generator because the workers live in a task
    group, and a task group must not be suspended inside an async generator (PEP 789): leaving
    the block cancels whatever is still running, deterministically.

    Every input item gets exactly one result, in completion order (``result.index`` is its
    position in the input). If a ``SetupError`` (unknown pool, bad credentials, access denied)
    dooms the run, no new user is sent, the calls in flight finish, their results are delivered,
    and then iteration raises that error.

    Attributes:
        limiter: The run's adaptive rate limiter (its ``rate``, ``throttles`` and ``cuts``).
        read: How many input items have been read so far.
        in_flight: How many users are being confirmed right now.
        max_in_flight: The most users that were ever being confirmed at once.
    """

    def __init__(
        self,
        usernames: Iterable[str] | AsyncIterable[str],
        *,
        confirm: ConfirmUser,
        concurrency: int,
        connections: int,
        limiter: AdaptiveRateLimiter,
        skip: SkipCheck | None = None,
    ) -> None:
        if isinstance(usernames, str | bytes):
            msg = "usernames must be an iterable of usernames, not one string: wrap it in a list"
            raise TypeError(msg)
        if concurrency < 1:
            msg = f"concurrency must be at least 1, got {concurrency}"
            raise ValueError(msg)
        if concurrency > connections:
            msg = (
                f"concurrency {concurrency} exceeds the client's {connections} "
                "pooled connections, so calls would only queue: raise max_connections "
                "(or the injected client's max_pool_connections)"
            )
            raise ValueError(msg)
        self._usernames = usernames
        self._confirm = confirm
        self._concurrency = concurrency
        self._triage = Triage(skip)
        self.limiter = limiter
        self.read = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._fatal: SetupError | None = None
        self._undelivered: list[ConfirmResult] = []
        self._answered = False
        self._stopping = False
        self._entered = False
        self._task_group: TaskGroup | None = None
        self._producer_scope: anyio.CancelScope | None = None
        self._results: MemoryObjectReceiveStream[ConfirmResult] | None = None

    @property
    def undelivered(self) -> tuple[ConfirmResult, ...]:
        """Results that were complete but not yet taken when the block was left early.

        After a ``break``, an exception or a cancellation, these users were handled by Cognito
        but never reached the loop; a caller that records results should record these too.
        """
        return tuple(self._undelivered)

    @property
    def fatal_error(self) -> SetupError | None:
        """The error that stopped the run early, if one did."""
        return self._fatal

    async def __aenter__(self) -> Self:
        if self._entered:
            msg = "a ResultStream can be entered only once"
            raise ClientStateError(msg)
        self._entered = True
        results_in, results_out = anyio.create_memory_object_stream[ConfirmResult](
            self._concurrency
        )
        # A few users queued per worker keep the workers busy without a trip through the
        # event loop for each hand-over; reading stays bounded by twice the concurrency.
        work_in, work_out = anyio.create_memory_object_stream[_Work](self._concurrency)
        self._results = results_out
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._producer_scope = anyio.CancelScope()
        async with results_in, work_out:
            task_group.start_soon(self._produce, work_in, results_in.clone())
            for _ in range(self._concurrency):
                task_group.start_soon(self._work, work_out.clone(), results_in.clone())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None  # noqa: S101 - set by __aenter__
        assert self._results is not None  # noqa: S101 - set by __aenter__
        # Leaving early (break, exception, cancellation) cancels whatever is still running;
        # after a full iteration every task has already ended and this changes nothing.
        self._task_group.cancel_scope.cancel()
        try:
            if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
                # The body's own exception (the run's SetupError among them) propagates as it
                # is rather than wrapped in an ExceptionGroup: the workers are merely cancelled.
                await self._task_group.__aexit__(None, None, None)
                return None
            return await self._task_group.__aexit__(exc_type, exc, tb)
        finally:
            self._drain()

    def _drain(self) -> None:
        assert self._results is not None  # noqa: S101 - set by __aenter__
        with self._results:
            while True:
                try:
                    self._undelivered.append(self._results.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    return

    def __aiter__(self) -> AsyncIterator[ConfirmResult]:
        return self

    async def __anext__(self) -> ConfirmResult:
        if self._results is None:
            msg = "iterate a ResultStream inside `async with confirmer.stream(...) as results:`"
            raise ClientStateError(msg)
        try:
            return await _receive(self._results)
        except anyio.EndOfStream:
            if self._fatal is not None:
                raise self._fatal from None
            raise StopAsyncIteration from None

    def stop(self) -> None:
        """Stop reading input; the users in flight finish and their results still arrive.

        Iteration then ends normally. Items read but not yet sent get no result: a resumed run
        sends them.
        """
        self._stopping = True
        if self._producer_scope is not None:
            self._producer_scope.cancel()

    async def _produce(
        self,
        work: MemoryObjectSendStream[_Work],
        results: MemoryObjectSendStream[ConfirmResult],
    ) -> None:
        assert self._producer_scope is not None  # noqa: S101 - set by __aenter__
        with self._producer_scope:
            async with work, results, aclosing(_enumerate(self._usernames)) as items:
                async for index, name in items:
                    self.read = index + 1
                    settled = self._triage(index, name)
                    if settled is not None:
                        await _send(results, settled)
                    else:
                        await _send(work, (index, name))

    async def _work(
        self,
        work: MemoryObjectReceiveStream[_Work],
        results: MemoryObjectSendStream[ConfirmResult],
    ) -> None:
        async with work, results:
            while not self._stopping:
                try:
                    index, name = await _receive(work)
                except anyio.EndOfStream:
                    return
                if self._stopping:  # read but never sent: a resumed run sends it
                    return
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    confirmation = await self._confirm(name, index=index, limiter=self.limiter)
                finally:
                    self.in_flight -= 1
                error = confirmation.error
                if not isinstance(error, TransportError):
                    self._answered = True
                elif not self._answered:
                    self._abort(_unreachable(error))
                    continue
                if isinstance(error, SetupError):
                    self._abort(error)
                    continue
                result = confirmation.result
                try:
                    await _send(results, result)
                except BaseException:
                    self._undelivered.append(result)
                    raise

    def _abort(self, error: SetupError) -> None:
        if self._fatal is None:
            self._fatal = error
        self.stop()


async def _send(stream: MemoryObjectSendStream[_T], item: _T) -> None:
    """Hand an item over, through the event loop only when the other side is not ready.

    Every ``await send()`` yields to the loop first; at a thousand calls a second those extra
    loop iterations break up aiobotocore's batching of socket reads and writes and cost more
    CPU than the engine's own work (the overhead benchmark measures it).
    """
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        await stream.send(item)


async def _receive(stream: MemoryObjectReceiveStream[_T]) -> _T:
    """Take an item, through the event loop only when none is ready; see ``_send``."""
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        return await stream.receive()


def _unreachable(error: TransportError) -> EndpointUnreachableError:
    msg = f"no answer from Cognito after {error.__class__.__name__}: {error.message}"
    return EndpointUnreachableError(msg, code=error.code, request_id=error.request_id)


async def collect(stream: ResultStream) -> BulkReport:
    """Run a stream to its end and return every result in input order (``confirm_many``).

    A ``SetupError`` that stops the run is raised with ``partial_report``: the results so far.
    """
    started = time.monotonic()
    results: list[ConfirmResult] = []
    try:
        async with stream:
            async for result in stream:
                results.append(result)
    except SetupError as error:
        error.partial_report = BulkReport.from_results(results, time.monotonic() - started)
        raise
    return BulkReport.from_results(results, time.monotonic() - started)


async def _enumerate(
    usernames: Iterable[str] | AsyncIterable[str],
) -> AsyncGenerator[_Work, None]:
    """Number the input items, sync or async, yielding to the loop now and then.

    An async iterator with ``aclose`` (an async generator) is closed when the run ends, early
    or not, so whatever it holds open (a file, a paginator) is released then, not at exit.
    """
    if isinstance(usernames, AsyncIterable):
        iterator = aiter(usernames)
        try:
            index = 0
            async for name in iterator:
                yield index, name
                index += 1
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
                    await aclose()
        return
    for index, name in enumerate(usernames):
        if index % _CHECKPOINT_EVERY == 0:
            await anyio.lowlevel.checkpoint()
        yield index, name
