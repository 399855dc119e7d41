"""How a command runs: ``BulkRun`` (confirm and demo share it) and ``dry_run``; exit codes."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Final, Protocol

import anyio
from anyio.abc import TaskGroup, TaskStatus

from .._bulk import ResultStream
from .._client import DEFAULT_MAX_CONNECTIONS, CognitoConfirmer
from .._clock import now as loop_time
from .._errors import SetupError, UserPoolNotFoundError
from .._gate import DEFAULT_OUTAGE_BUDGET
from .._result import ConfirmResult, Outcome
from .._triage import SkipCheck, Triage
from .display import (
    Display,
    ProgressBar,
    error_line,
    make_display,
    print_json,
    print_summary,
    print_table,
    warning_line,
)
from .logs import route
from .output import DRY_RUN_LABELS, dry_run_summary, run_summary
from .report import (
    EmailCheck,
    Place,
    ReportError,
    ReportWriter,
    needs_email_check,
    report_record,
)
from .tally import RESUMED, Tally
from .userpool import EmailVerifier, describe_pool

__all__ = [
    "DEFAULT_GRACE",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_ALL_OK",
    "EXIT_OK",
    "EXIT_SETUP",
    "STOP_SIGNALS",
    "BulkRun",
    "RunSettings",
    "SetupWatch",
    "UsernameSource",
    "dry_run",
    "finish",
    "place_of",
    "run_bulk",
    "with_region_note",
]

EXIT_OK: Final = 0
EXIT_NOT_ALL_OK: Final = 1
EXIT_SETUP: Final = 2
EXIT_INTERRUPTED: Final = 128 + signal.SIGINT
DEFAULT_GRACE: Final = 10.0
"""Seconds the calls in flight get after a stop signal: with the rest of the shutdown, well
inside the 30 s that Kubernetes (and systemd's 90 s) allow before SIGKILL."""
STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_OUTAGE_POLL: Final = 1.0
"""How often the run looks whether the engine holds it in an outage, to say so."""


class UsernameSource(Protocol):
    """Where a run's usernames come from: a file, standard input, the pool, or memory."""

    @property
    def error(self) -> Exception | None:
        """Why the source ended early, if it did."""

    @property
    def total(self) -> int | None:
        """How many usernames there are, once known."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    def note_result(self) -> None:
        """One of the usernames read has its result (the pool source needs to know)."""

    async def aclose(self) -> None:
        """Release threads and calls; the run no longer iterates."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How a bulk run sends: shared by ``confirm`` and ``demo``."""

    user_pool_id: str
    concurrency: int | None
    client_metadata: Mapping[str, str] | None = None
    verify_email: bool = False
    show_progress: bool = True
    grace: float = DEFAULT_GRACE
    region_note: str | None = None
    outage_budget: float = DEFAULT_OUTAGE_BUDGET
    json_output: bool = False


class SetupWatch:
    """A stop signal before the run starts (reading the input, the quota, the pool, a dry run):
    the setup is cancelled and the command says so, rather than dying silently with 143.

    Open for the whole command: the run's own receiver takes the signals over while it runs.

    Attributes:
        scope: What the signal cancels: the setup.
        signal: The signal that came, if one did.
    """

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.signal: int | None = None

    async def watch(self, *, task_status: TaskStatus[None]) -> None:
        """Receive stop signals until cancelled; the first one cancels the setup."""
        if threading.current_thread() is not threading.main_thread():
            task_status.started()  # signals reach the main thread only
            return
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            task_status.started()
            async for signum in signals:
                if self.signal is None:
                    self.signal = signum
                    self.scope.cancel()


class BulkRun:
    """One run: the engine's results, an optional email stage, the report, the progress bar.

    Shape (one task group per stage, nothing outlives ``run()``)::

        source ──> ResultStream ──> [email stage: up to `concurrency` AdminUpdateUserAttributes]
                                 └──────────────────────────> report line, tally, progress

    Every result is written to the report the moment it is known (after its email check with
    ``--verify-email``). The first SIGINT / SIGTERM / SIGHUP sends nothing new and gives the
    calls in flight ``grace`` seconds to finish; then, or at a second signal, they are cancelled
    (their users have no line, so a resumed run sends them again).
    """

    def __init__(
        self,
        confirmer: CognitoConfirmer,
        source: UsernameSource,
        writer: ReportWriter,
        settings: RunSettings,
        *,
        skip: SkipCheck | None,
        display: Display,
        earlier: dict[str, tuple[Outcome, bool]] | None = None,
    ) -> None:
        self._confirmer = confirmer
        self._source = source
        self._writer = writer
        self._settings = settings
        self._skip = skip
        self._display = display
        self._verifier = (
            EmailVerifier(confirmer.client, settings.user_pool_id)
            if settings.verify_email
            else None
        )
        self._email_slots = anyio.Semaphore(settings.concurrency or DEFAULT_MAX_CONNECTIONS)
        self._results: ResultStream | None = None
        self._stopping = False
        self._held = False
        self._abort = anyio.CancelScope()
        self.tally = Tally(earlier=earlier)
        self._place = place_of(confirmer)

    async def run(self) -> Tally:
        """Confirm every user of the source; return what happened."""
        async with anyio.create_task_group() as watchers:
            await watchers.start(self._watch_signals)
            watchers.start_soon(self._watch_outage)
            with self._abort:
                await self._confirm_all()
            watchers.cancel_scope.cancel()
        self._note_outage()  # an outage over since the last look
        if self.tally.error is None:
            self.tally.error = self._source.error
        self.tally.finish()
        return self.tally

    async def _confirm_all(self) -> None:
        verifying = self._verifier.counted() if self._verifier is not None else nullcontext()
        with verifying:
            await self._confirm_and_verify()

    async def _confirm_and_verify(self) -> None:
        async with anyio.create_task_group() as email_stage:
            try:
                async with self._confirmer.stream(
                    self._source,
                    concurrency=self._settings.concurrency,
                    client_metadata=self._settings.client_metadata,
                    skip=self._skip,
                    outage_budget=self._settings.outage_budget,
                ) as results:
                    self._results = results
                    if self._stopping:
                        results.stop()
                    async for result in results:
                        self._source.note_result()
                        await self._deliver(result, email_stage)
            except SetupError as error:
                # Raised after the results of the calls in flight were delivered and written.
                self._fail(error)
            finally:
                # A second signal abandoned the run: results that were complete but not yet
                # taken still go to the report (their email unchecked, so resume redoes it).
                if self._results is not None:
                    self._record_undelivered(self._results)

    def _record_undelivered(self, results: ResultStream) -> None:
        pending = results.undelivered
        for result in pending:
            self._record(result, None if self._verifier is None else EmailCheck(verified=None))

    async def _deliver(self, result: ConfirmResult, email_stage: TaskGroup) -> None:
        if self._verifier is None:
            self._record(result, None)
        elif not needs_email_check(result):
            self._record(result, EmailCheck(verified=None))
        else:
            # Taken here, not in the task: a full email stage holds the results back.
            await self._email_slots.acquire()
            email_stage.start_soon(self._check_email, self._verifier, result)

    async def _check_email(self, verifier: EmailVerifier, result: ConfirmResult) -> None:
        try:
            email = await verifier.verify(result.username)
        finally:
            self._email_slots.release()
        if verifier.fatal_error is not None:
            self._fail(verifier.fatal_error)
        self._record(result, email)

    def _record(self, result: ConfirmResult, email: EmailCheck | None) -> None:
        # A user a resumed run skips has its line already: a resume writes only what it does.
        if result.outcome is not Outcome.SKIPPED:
            record = report_record(
                result, user_pool_id=self._settings.user_pool_id, email=email, place=self._place
            )
            try:
                self._writer.write(record)
            except ReportError as error:
                # Nothing more can be recorded, so nothing more may be sent.
                self._fail(error)
                self._abort.cancel()
                return
        self.tally.add(result, email)
        self._display.advance(self.tally, self._source.total)

    def _fail(self, error: Exception) -> None:
        if self.tally.error is None:
            self.tally.error = error
        self._stop()

    def _stop(self) -> None:
        self._stopping = True
        if self._results is not None:
            self._results.stop()

    async def _watch_signals(self, *, task_status: TaskStatus[None]) -> None:
        if threading.current_thread() is not threading.main_thread():
            task_status.started()  # signals reach the main thread only
            return
        with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
            task_status.started()
            async with anyio.create_task_group() as grace:
                async for signum in signals:
                    if self.tally.signal is None:
                        self.tally.signal = signum
                        self._display.note(
                            f"{signal.Signals(signum).name}: sending no more users; the calls "
                            f"in flight get {self._settings.grace:g} s to finish (signal again "
                            "to abandon them now)"
                        )
                        self._stop()
                        grace.start_soon(self._abandon_after, self._settings.grace)
                    else:
                        self._abort.cancel()

    async def _watch_outage(self) -> None:
        while True:
            await anyio.sleep(_OUTAGE_POLL)
            self._note_outage()

    def _note_outage(self) -> None:
        """Say when the engine holds the run because Cognito does not answer, and when not."""
        outage = None if self._results is None else self._results.outage
        if outage is not None and not self._held:
            self._display.note(
                f"no answer from Cognito for {outage:.0f} s (connections fail or time out, "
                "or HTTP 5xx): sending nobody new and probing; the run stops after "
                f"{self._settings.outage_budget:g} s without an answer (--outage-budget)"
            )
        elif outage is None and self._held:
            self._display.note("Cognito answers again: carrying on")
        self._held = outage is not None

    async def _abandon_after(self, grace: float) -> None:
        await anyio.sleep(grace)
        self._display.note("grace period over: abandoning the calls still in flight")
        self._abort.cancel()


def place_of(confirmer: CognitoConfirmer) -> Place:
    """Where an open confirmer's calls go, as the report records it."""
    meta = confirmer.client.meta
    return Place(meta.region_name, meta.endpoint_url)


async def run_bulk(
    confirmer: CognitoConfirmer,
    source: UsernameSource,
    writer: ReportWriter,
    settings: RunSettings,
    *,
    skip: SkipCheck | None = None,
    earlier: dict[str, tuple[Outcome, bool]] | None = None,
) -> int:
    """Run, then print the summary and any error; return the exit code.

    ``earlier``: a resumed run's report, user by user (``ResumeState.last``): the summary and
    the exit code then cover the whole report, not this run alone.
    """
    display = make_display(settings.show_progress)
    # Log lines (-v, --debug) go above the progress bar, as the notes do.
    routed = route(display.note) if isinstance(display, ProgressBar) else nullcontext()
    try:
        with routed:
            run = BulkRun(
                confirmer, source, writer, settings, skip=skip, display=display, earlier=earlier
            )
            tally = await run.run()
    finally:
        display.close()
        writer.close()
    if tally.error is not None:
        tally.error = with_region_note(tally.error, settings.region_note)
    return finish(tally, writer, settings)


def with_region_note(error: Exception, note: str | None) -> Exception:
    """An unknown pool, with the note that --region sends the calls to another region."""
    if note is None or not isinstance(error, UserPoolNotFoundError):
        return error
    return UserPoolNotFoundError(
        f"{error.message} ({note})",
        code=error.code,
        request_id=error.request_id,
        http_status=error.http_status,
    )


def finish(tally: Tally, writer: ReportWriter, settings: RunSettings) -> int:
    """Print what happened (the table, or ``--output json``) and return the exit code.

    A report this run created and wrote nothing in is removed, unless a signal stopped the run
    (``--resume`` then carries on with it): an empty report would only make the next run
    refuse to start.
    """
    discarded = tally.signal is None and writer.discard_if_unused()
    code = _exit_code(tally, discarded=discarded)
    report = None if discarded else writer.path
    if settings.json_output:
        summary = run_summary(
            tally,
            user_pool_id=settings.user_pool_id,
            report=report,
            exit_code=code,
            verify_email=settings.verify_email,
        )
        print_json(summary)
    elif report is not None:
        print_summary(tally, report)
    if tally.signal is not None:
        name = signal.Signals(tally.signal).name
        warning_line(f"stopped by {name}: every result so far is in the report; --resume goes on")
    elif tally.error is not None:
        error_line(str(tally.error))
    elif discarded:
        warning_line("no usernames to confirm: nothing was sent and no report was written")
    return code


def _exit_code(tally: Tally, *, discarded: bool) -> int:
    """See the module doc of ``commands``."""
    if tally.signal is not None:
        return 128 + tally.signal
    if tally.error is not None:
        return EXIT_SETUP
    if discarded:
        return EXIT_OK
    return EXIT_NOT_ALL_OK if tally.verdict_not_ok else EXIT_OK


async def dry_run(
    confirmer: CognitoConfirmer,
    source: UsernameSource,
    skip: SkipCheck | None,
    *,
    json_output: bool = False,
) -> int:
    """Check the pool and read the whole input; print the counts (never a name); send nothing.

    Exit 1 when some input item is invalid, since the real run would end with 1 too.
    """
    started = loop_time()
    pool = await describe_pool(confirmer.client, confirmer.user_pool_id)
    counts = await _triage_input(source, skip, case_sensitive=pool.case_sensitive)
    if source.error is not None:
        raise source.error
    code = EXIT_NOT_ALL_OK if counts["invalid"] else EXIT_OK
    if json_output:
        summary = dry_run_summary(
            counts,
            user_pool_id=pool.user_pool_id,
            pool_name=pool.name,
            estimated_users=pool.estimated_users,
            elapsed=loop_time() - started,
            exit_code=code,
        )
        print_json(summary)
        return code
    users = "" if pool.estimated_users is None else f", about {pool.estimated_users} users"
    print_table(
        f"dry run: user pool {pool.user_pool_id} ({pool.name}{users}) is reachable; "
        "nothing was sent",
        ("input items", "count"),
        [*((label, counts[label]) for label in DRY_RUN_LABELS), ("total", counts.total())],
    )
    return code


async def _triage_input(
    source: UsernameSource, skip: SkipCheck | None, *, case_sensitive: bool
) -> Counter[str]:
    """What the engine would do with each item (its own triage), without sending anything."""
    labels = {
        Outcome.INVALID: "invalid",
        Outcome.DUPLICATE: "duplicates",
        Outcome.SKIPPED: RESUMED,
    }
    triage = Triage(skip, case_sensitive=case_sensitive)
    counts: Counter[str] = Counter()
    index = 0
    async for name in source:
        source.note_result()
        settled = triage(index, name)
        counts["to send" if settled is None else labels[settled.outcome]] += 1
        index += 1
    return counts
