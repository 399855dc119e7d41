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
``CognitoConfirmer``. Every call passes the run's ``_gate.CallGate`` (held in an outage, shut by
``stop()``), and every user's outcome goes to its ``_verdict.Judge`` (result or stop, and when
the run may fan out from one user at a time to ``concurrency``).

An input (or ``skip=``) that raises ends the run like a run-level error: the calls in flight
finish, then its own exception is raised (not wrapped in an ``ExceptionGroup``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Collection,
    Iterable,
)
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol, Self

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._clock import now as loop_time
from ._confirm import Confirmation
from ._errors import ClientStateError, SetupError
from ._gate import DEFAULT_OUTAGE_BUDGET, CallGate
from ._handover import acquire_token, receive, send
from ._peers import Census
from ._ratelimit import AdaptiveRateLimiter
from ._result import BulkReport, ConfirmResult
from ._retry import NotSentError
from ._triage import SkipCheck, Triage
from ._verdict import Judge

__all__ = ["ConfirmUser", "ResultStream", "collect"]

logger = logging.getLogger("cognito_confirm")


class ConfirmUser(Protocol):
    """Confirms one valid username: ``_confirm.confirm_user`` bound to a client and a pool."""

    def __call__(
        self, username: str, *, index: int, limiter: AdaptiveRateLimiter, gate: CallGate
    ) -> Awaitable[Confirmation]: ...


_CHECKPOINT_EVERY: Final = 256
_CLOSE_TIMEOUT: Final = 5.0
"""Seconds an async input may take to close once the run is over (even a cancelled one)."""

_Work = tuple[int, str]


class ResultStream:
    """Confirms users concurrently and yields a ``ConfirmResult`` for each as it completes.

    Made by ``CognitoConfirmer.stream()``; use it as an async context manager, then iterate:

        async with confirmer.stream(usernames) as results:
            async for result in results:
                ...

    A context manager rather than a bare async generator because the workers live in a task
    group, and a task group must not be suspended inside an async generator (PEP 789): leaving
    the block cancels whatever is still running, deterministically.

    Every user sent gets exactly one result, in completion order (``result.index`` is its
    position in the input), and so does every item settled without a call (invalid, duplicate,
    skipped). Items read but never sent (after ``stop()``, or when the run stopped early) get
    none: a resumed run sends them.

    The run starts with one user and fans out once Cognito has answered one, to as many calls
    in flight as the pace needs (its rate times the latency measured, with headroom: see
    ``AdaptiveRateLimiter.calls_needed``), so slow calls (a post-confirmation trigger) still
    keep the pace without tuning. ``concurrency`` caps the calls in flight (``None``: the
    client's ``max_connections``).
    It stops early, raising a ``SetupError`` once the calls in flight are done and their results
    delivered, on an error that dooms it: the pool, the credentials, the signature or the clock
    at once (that user gets no result); ``RepeatedFailureError`` when three users in a row
    failed with the same error that is not about a user; ``EndpointUnreachableError`` when the
    first user got no answer, or an outage outlasted ``outage_budget``. In an outage (calls of
    several users in a row unanswered: dropped, timed out, HTTP 5xx) the run sends nobody
    new and holds the users in flight, probes once in a while, and carries on when the endpoint
    answers: those users do not fail. An input (or a ``skip=`` check) that raises ends the run
    the same way, with its own exception.

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
        concurrency: int | None,
        connections: int,
        limiter: AdaptiveRateLimiter,
        skip: SkipCheck | None = None,
        outage_budget: float = DEFAULT_OUTAGE_BUDGET,
        case_sensitive: bool = True,
        peers: Path | None = None,
    ) -> None:
        if isinstance(usernames, str | bytes):
            msg = "usernames must be an iterable of usernames, not one string: wrap it in a list"
            raise TypeError(msg)
        if concurrency is None:
            concurrency = connections
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
        self._triage = Triage(skip, case_sensitive=case_sensitive)
        self._gate = CallGate(outage_budget=outage_budget)
        self._judge = Judge()
        self.limiter = limiter
        self._census_directory = peers
        self._membership = contextlib.ExitStack()  # of the census, while the run lasts
        self.read = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._failure: Exception | None = None
        self._undelivered: list[ConfirmResult] = []
        self._stopping = False
        self._entered = False
        self._exited = False
        self._task_group: TaskGroup | None = None
        self._producer_scope: anyio.CancelScope | None = None
        self._worker_scopes: set[anyio.CancelScope] = set()
        self._sent_by: dict[object, anyio.CancelScope] = {}  # user -> its worker's scope
        self._fan_out: anyio.CapacityLimiter | None = None
        self._results: MemoryObjectReceiveStream[ConfirmResult] | None = None

    def __repr__(self) -> str:
        return (
            f"<ResultStream concurrency={self._concurrency} read={self.read} "
            f"in_flight={self.in_flight} state={self._state()}>"
        )

    def _state(self) -> str:
        if not self._entered:
            return "unentered"
        if self._exited:
            return "closed"
        if self._stopping:
            return "stopping"
        return "held" if self._gate.down else "running"

    @property
    def undelivered(self) -> tuple[ConfirmResult, ...]:
        """Results that were complete but not yet taken when the block was left early.

        After a ``break``, an exception or a cancellation, these users were handled by Cognito
        but never reached the loop; a caller that records results should record these too.
        """
        return tuple(self._undelivered)

    @property
    def fatal_error(self) -> SetupError | None:
        """The ``SetupError`` that stopped the run early, if one did."""
        return self._failure if isinstance(self._failure, SetupError) else None

    @property
    def input_error(self) -> Exception | None:
        """The exception the input raised, if it did (iteration raises it at the end)."""
        failure = self._failure
        return None if failure is None or isinstance(failure, SetupError) else failure

    @property
    def outage(self) -> float | None:
        """Seconds without an answer while the run is held in an outage; None otherwise."""
        return self._gate.outage

    async def __aenter__(self) -> Self:
        if self._entered:
            msg = "a ResultStream can be entered only once"
            raise ClientStateError(msg)
        self._entered = True
        logger.info(
            "bulk run starting: concurrency %d, pace %.1f calls/s",
            self._concurrency,
            self.limiter.rate,
        )
        results_in, results_out = anyio.create_memory_object_stream[ConfirmResult](
            self._concurrency
        )
        # A few users queued per worker keep the workers busy without a trip through the
        # event loop for each hand-over; reading stays bounded by twice the concurrency.
        work_in, work_out = anyio.create_memory_object_stream[_Work](self._concurrency)
        self._results = results_out
        self._fan_out = anyio.CapacityLimiter(1)  # slow start: see _verdict
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._producer_scope = anyio.CancelScope()
        async with results_in, work_out:
            task_group.start_soon(self._gate.watch, self._cut)
            task_group.start_soon(self._produce, work_in, results_in.clone())
            for _ in range(self._concurrency):
                task_group.start_soon(self._work, work_out.clone(), results_in.clone())
        # Joined before any worker runs, last (nothing after it can fail); __aexit__ leaves.
        join = functools.partial(Census.join, self._census_directory)
        self._membership.enter_context(self.limiter.among_peers(join))
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
        self._gate.stop()
        self._task_group.cancel_scope.cancel()
        try:
            if exc is not None and not isinstance(exc, anyio.get_cancelled_exc_class()):
                # The body's own exception (the run's SetupError among them) propagates as it
                # is rather than wrapped in an ExceptionGroup: the workers are merely cancelled.
                await self._task_group.__aexit__(None, None, None)
                return None
            return await self._task_group.__aexit__(exc_type, exc, tb)
        finally:
            self._membership.close()
            self._drain()
            self._exited = True
            logger.info(
                "bulk run over: %d input items read, %d users in flight at most, pace %.1f "
                "calls/s after %d cuts",
                self.read,
                self.max_in_flight,
                self.limiter.rate,
                self.limiter.cuts,
            )

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
            return await receive(self._results)
        except anyio.EndOfStream:
            pass
        # Raised here, outside the except clause, so the error keeps its own cause and context.
        if self._failure is not None:
            raise self._failure
        raise StopAsyncIteration

    def stop(self) -> None:
        """Send nothing more; the calls in flight finish and their results still arrive.

        Iteration then ends normally. Nothing new is sent, not even a call waiting for its slot
        in the pace or for its backoff: a user not sent yet gets no result (a resumed run
        sends it), one already sent ends with its last call's error (``failed``). Idempotent.
        """
        self._stopping = True
        self._gate.stop()
        if self._producer_scope is not None:
            self._producer_scope.cancel()

    def abort(self) -> None:
        """``stop()``, and cancel the calls in flight too (e.g. after a grace period).

        Their users get no result: a call may have reached Cognito, and a resumed run sends it
        again (Cognito then answers "already confirmed"). Results already complete are still
        delivered by the iteration, which then ends normally.
        """
        self.stop()
        for scope in self._worker_scopes:
            scope.cancel()

    async def _produce(
        self,
        work: MemoryObjectSendStream[_Work],
        results: MemoryObjectSendStream[ConfirmResult],
    ) -> None:
        assert self._producer_scope is not None  # noqa: S101 - set by __aenter__
        with self._producer_scope:
            async with work, results, aclosing(_enumerate(self._usernames)) as items:
                while True:
                    try:
                        index, name = await anext(items)
                        self.read = index + 1
                        settled = self._triage(index, name)  # runs the caller's skip= too
                    except StopAsyncIteration:
                        return
                    except Exception as error:  # noqa: BLE001 - the input's or skip='s own: raised at the end
                        self._fail(error)
                        return
                    if settled is not None:
                        await send(results, settled)
                    else:
                        await send(work, (index, name))

    async def _work(
        self,
        work: MemoryObjectReceiveStream[_Work],
        results: MemoryObjectSendStream[ConfirmResult],
    ) -> None:
        scope = anyio.CancelScope()
        self._worker_scopes.add(scope)
        with scope:
            async with work, results:
                while not self._stopping:
                    try:
                        try:  # receive(), inline: one coroutine fewer a user
                            index, name = work.receive_nowait()
                        except anyio.WouldBlock:
                            index, name = await work.receive()
                    except anyio.EndOfStream:
                        return
                    self._sent_by[name] = scope
                    result = await self._confirm_one(index, name, scope)
                    del self._sent_by[name]
                    if result is not None:
                        try:
                            try:  # send(), inline: one coroutine fewer a user
                                results.send_nowait(result)
                            except anyio.WouldBlock:
                                await results.send(result)
                        except BaseException:
                            self._undelivered.append(result)
                            raise

    async def _confirm_one(self, index: int, name: str, worker: object) -> ConfirmResult | None:
        """Confirm one user in its turn (``worker`` holds the token): its result, or None for a
        user with none."""
        fan_out = self._fan_out
        assert fan_out is not None  # noqa: S101 - set by __aenter__
        await acquire_token(fan_out, worker)
        try:
            if self._stopping:  # read but never sent: a resumed run sends it
                return None
            # Counted here rather than in a coroutine of its own: one fewer per user.
            self.in_flight += 1
            if self.in_flight > self.max_in_flight:
                self.max_in_flight = self.in_flight
            try:
                confirmation = await self._confirm(
                    name, index=index, limiter=self.limiter, gate=self._gate
                )
            finally:
                self.in_flight -= 1
        finally:
            fan_out.release_on_behalf_of(worker)
        if isinstance(confirmation.error, NotSentError):
            return None
        deliver, fatal = self._judge.verdict(confirmation.error)
        if self._judge.answered:
            # Fanned out: as many calls in flight as the pace needs, up to the workers.
            needed = self.limiter.calls_needed(self._concurrency)
            if needed != fan_out.total_tokens:
                fan_out.total_tokens = needed
        if fatal is not None:
            self._fail(fatal)
        return confirmation.result if deliver else None

    def _cut(self, users: Collection[object]) -> None:
        """The outage budget is spent (``CallGate.watch``): stop, and cut the calls in flight.

        Their users get no result, as when a call fails after the budget (``overdue()``): a
        resumed run sends them. Each worker is cancelled whole, which is safe as the run stops.
        """
        assert self._gate.unreachable is not None  # noqa: S101 - the gate gave up first
        self._fail(self._gate.unreachable)
        for user in users:
            scope = self._sent_by.get(user)
            if scope is not None:
                scope.cancel()

    def _fail(self, error: Exception) -> None:
        if self._failure is None:
            self._failure = error
        self.stop()


async def collect(stream: ResultStream) -> BulkReport:
    """Run a stream to its end and return every result in input order (``confirm_many``).

    A ``SetupError`` that stops the run is raised with ``partial_report``: the results so far.
    So is an exception the input raised: the same attribute is set on it (``getattr(error,
    "partial_report", None)``), and a note says so.
    """
    started = loop_time()
    results: list[ConfirmResult] = []
    try:
        async with stream:
            async for result in stream:
                results.append(result)
    except SetupError as error:
        error.partial_report = BulkReport.from_results(results, loop_time() - started)
        raise
    except Exception as error:
        if error is stream.input_error:
            _attach(error, BulkReport.from_results(results, loop_time() - started))
        raise
    return BulkReport.from_results(results, loop_time() - started)


def _attach(error: Exception, report: BulkReport) -> None:
    """Hang ``partial_report`` on an exception of any class, as ``SetupError`` carries it."""
    with contextlib.suppress(AttributeError):  # a class with __slots__ cannot take it
        error.partial_report = report  # type: ignore[attr-defined]
    error.add_note(
        f"cognito-confirm: the input raised this after {len(report.results)} results; "
        "they are in this exception's partial_report"
    )


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
