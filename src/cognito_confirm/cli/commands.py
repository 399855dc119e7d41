"""The ``cognito-confirm`` command: confirm a whole user base, resumably, inside the quota.

    cognito-confirm confirm --user-pool-id ID (--input FILE | --input - | --from-pool) [OPTIONS]
    cognito-confirm demo [--users N]

Exit codes:

    0    every user ended confirmed, already confirmed, duplicate or skipped
         (--dry-run: the pool is reachable and no input item is invalid)
    1    some user did not (the report says which and why), or --verify-email failed for some
    2    a usage or setup error, as one line on stderr: missing or unreadable input, missing CSV
         column, malformed or unknown pool id, no credentials, access denied, existing report
    130  stopped by SIGINT (Ctrl-C), 143 by SIGTERM: no new user was sent, the users in flight
         finished and are in the report, and --resume carries on from there

Usernames are personal data: nothing here prints or logs one (they go to the report file, mode
0600, only), nor credentials, nor ClientMetadata. click and rich are imported here only, so the
library itself never pays for them.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import anyio
import click
from anyio.abc import TaskGroup, TaskStatus
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ._bulk import ResultStream, SkipCheck, Triage
from ._client import DEFAULT_MAX_CONNECTIONS, CognitoConfirmer
from ._demo import DemoUnavailableError, demo_pool, demo_session
from ._errors import CognitoConfirmError, SetupError
from ._inputs import FileSource, InputError, IterableSource
from ._pool import EmailVerifier, UnconfirmedUsers, describe_pool
from ._report import (
    EmailCheck,
    ReportError,
    ReportWriter,
    ResumeState,
    default_report_path,
    needs_email_check,
    read_resume_state,
    report_record,
)
from ._result import ConfirmResult, Outcome
from ._validation import check_user_pool_id

__all__ = ["cli", "main"]

EXIT_OK: Final = 0
EXIT_NOT_ALL_OK: Final = 1
EXIT_SETUP: Final = 2
EXIT_INTERRUPTED: Final = 128 + signal.SIGINT
PROG: Final = "cognito-confirm"
DEMO_CONCURRENCY: Final = 8

_SETUP_ERRORS: Final = (InputError, ReportError, CognitoConfirmError, DemoUnavailableError)
_RESUMED: Final = "skipped (done before)"
"""How a run's summary names ``skipped``: the command line skips only users done before."""
_OUTCOME_ORDER: Final = (
    "confirmed",
    "already_confirmed",
    _RESUMED,
    "duplicate",
    "not_found",
    "not_confirmable",
    "invalid",
    "failed",
)


# --- what a run reads, and what it counts ---------------------------------------------------


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
    concurrency: int
    rate: float | None
    client_metadata: Mapping[str, str] | None = None
    verify_email: bool = False
    show_progress: bool = True


@dataclass
class Tally:
    """What a run did, by outcome, for the progress bar, the summary and the exit code.

    Attributes:
        counts: Users by outcome label.
        emails_verified: Users whose email was marked verified (``--verify-email``).
        emails_failed: Users whose email could not be.
        signal: The signal that stopped the run, if one did.
        error: The setup or input error that ended the run early, if one did.
        elapsed: Seconds the run took.
        not_ok: Users that need attention: not confirmed, or their email not verified.
    """

    counts: Counter[str] = field(default_factory=Counter)
    emails_verified: int = 0
    emails_failed: int = 0
    signal: int | None = None
    error: Exception | None = None
    elapsed: float = 0.0
    not_ok: int = 0
    _started: float = field(default_factory=time.monotonic, init=False, repr=False)

    def add(self, result: ConfirmResult, email: EmailCheck | None) -> None:
        """Count one user's result (and its email check)."""
        self.counts[_label(result)] += 1
        self.not_ok += not result.ok
        if email is not None and email.verified is not None:
            self.emails_verified += email.verified
            self.emails_failed += not email.verified
            self.not_ok += not email.verified and result.ok

    @property
    def users(self) -> int:
        """How many users have a result."""
        return sum(self.counts.values())

    def brief(self) -> str:
        """The counts in a few words, for the progress bar."""
        return "  ".join(f"{label} {count}" for label, count in self.ordered())

    def ordered(self) -> list[tuple[str, int]]:
        """The non-zero counts, in a fixed order."""
        return [(label, self.counts[label]) for label in _OUTCOME_ORDER if self.counts[label]]

    def finish(self) -> None:
        """Stop the clock."""
        self.elapsed = time.monotonic() - self._started


def _label(result: ConfirmResult) -> str:
    return _RESUMED if result.outcome is Outcome.SKIPPED else result.outcome.value


# --- the bulk path shared by confirm and demo -------------------------------------------------


class BulkRun:
    """One run: the engine's results, an optional email stage, the report, the progress bar.

    Shape (one task group per stage, nothing outlives ``run()``)::

        source ──> ResultStream ──> [email stage: up to `concurrency` AdminUpdateUserAttributes]
                                 └──────────────────────────> report line, tally, progress

    Every result is written to the report the moment it is known (after its email check with
    ``--verify-email``). The first SIGINT / SIGTERM stops reading input and lets the calls in
    flight finish; a second one cancels them too (their users then have no line, so a resumed
    run sends them again).
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
        self._email_slots = anyio.Semaphore(settings.concurrency)
        self._results: ResultStream | None = None
        self._stopping = False
        self._abort = anyio.CancelScope()
        self.tally = Tally()

    async def run(self) -> Tally:
        """Confirm every user of the source; return what happened."""
        async with anyio.create_task_group() as watchers:
            await watchers.start(self._watch_signals)
            with self._abort:
                await self._confirm_all()
            watchers.cancel_scope.cancel()
        if self.tally.error is None:
            self.tally.error = self._source.error
        self.tally.finish()
        return self.tally

    async def _confirm_all(self) -> None:
        async with anyio.create_task_group() as email_stage:
            try:
                async with self._confirmer.stream(
                    self._source,
                    concurrency=self._settings.concurrency,
                    rate=self._settings.rate,
                    client_metadata=self._settings.client_metadata,
                    skip=self._skip,
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
        record = report_record(result, user_pool_id=self._settings.user_pool_id, email=email)
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
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for signum in signals:
                if self.tally.signal is None:
                    self.tally.signal = signum
                    self._display.note(
                        f"{signal.Signals(signum).name}: sending no more users, waiting for the "
                        "calls in flight (again to abandon them)"
                    )
                    self._stop()
                else:
                    self._abort.cancel()


async def run_bulk(
    confirmer: CognitoConfirmer,
    source: UsernameSource,
    writer: ReportWriter,
    settings: RunSettings,
    *,
    skip: SkipCheck | None = None,
) -> int:
    """Run, then print the summary and any error; return the exit code."""
    display = make_display(settings.show_progress)
    try:
        tally = await BulkRun(confirmer, source, writer, settings, skip=skip, display=display).run()
    finally:
        display.close()
        writer.close()
    return finish(tally, writer)


def finish(tally: Tally, writer: ReportWriter) -> int:
    """Print what happened and return the exit code (see the module doc)."""
    if tally.error is not None and writer.discard_if_unused():
        error_line(str(tally.error))
        return EXIT_SETUP
    print_summary(tally, writer.path)
    if tally.signal is not None:
        name = signal.Signals(tally.signal).name
        warning_line(f"stopped by {name}: every result so far is in the report; --resume goes on")
        return 128 + tally.signal
    if tally.error is not None:
        error_line(str(tally.error))
        return EXIT_SETUP
    return EXIT_NOT_ALL_OK if tally.not_ok else EXIT_OK


# --- what the operator sees ----------------------------------------------------------------


class Display(Protocol):
    """The progress bar, or nothing."""

    def advance(self, tally: Tally, total: int | None) -> None:
        """One more result."""

    def note(self, message: str) -> None:
        """A line for the operator on stderr."""

    def close(self) -> None:
        """The run is over."""


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:4.0f} users/s" if speed is not None else "   - users/s")


class ProgressBar:
    """done/total, rate, ETA and counts by outcome on stderr, refreshed by rich's own thread."""

    def __init__(self, console: Console | None = None) -> None:
        self._progress = Progress(
            TextColumn("confirming"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console or Console(stderr=True),
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("confirming", total=None, counts="")
        self._progress.start()

    def advance(self, tally: Tally, total: int | None) -> None:
        """One more result; the total becomes known when a file has been counted."""
        self._progress.update(self._task, advance=1, total=total, counts=tally.brief())

    def note(self, message: str) -> None:
        """Printed above the bar, which stays in place."""
        self._progress.console.print(message, markup=False, highlight=False)

    def close(self) -> None:
        """Leave the final bar on screen."""
        self._progress.stop()


class NoProgress:
    """``--no-progress``, or stderr is not a terminal: only notes are shown."""

    def advance(self, tally: Tally, total: int | None) -> None:
        """Nothing to show."""

    def note(self, message: str) -> None:
        """One line on stderr."""
        warning_line(message)

    def close(self) -> None:
        """Nothing to close."""


def make_display(show_progress: bool) -> Display:
    """A progress bar when asked for and stderr is a terminal (checked directly rather than by
    rich, which also says yes whenever FORCE_COLOR is set, as on many CI machines)."""
    if show_progress and _stderr_is_terminal():
        return ProgressBar()
    return NoProgress()


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def print_summary(tally: Tally, report_path: Path) -> None:
    """The table by outcome and the report's path, on stdout; no username appears."""
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    rate = tally.users / tally.elapsed if tally.elapsed > 0 else 0.0
    console.print(f"{tally.users} users in {tally.elapsed:.1f} s ({rate:.0f} users/s)")
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("outcome")
    table.add_column("users", justify="right")
    for label, count in tally.ordered():
        table.add_row(label, str(count))
    if tally.emails_verified or tally.emails_failed:
        table.add_row("email verified", str(tally.emails_verified))
        table.add_row("email not verified", str(tally.emails_failed))
    console.print(table)
    console.print(f"report: {report_path}", markup=False)


def error_line(message: str) -> None:
    """A usage or setup error: one line on stderr, whatever the message held."""
    click.echo(f"{PROG}: error: {_one_line(message)}", err=True)


def warning_line(message: str) -> None:
    """A note for the operator: one line on stderr."""
    click.echo(f"{PROG}: {_one_line(message)}", err=True)


def _one_line(message: str) -> str:
    return " ".join(message.split())


# --- the confirm command ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfirmOptions:
    """The ``confirm`` command's options, as click parsed them."""

    user_pool_id: str
    input_path: str | None
    from_pool: bool
    column: str | None
    region: str | None
    profile: str | None
    endpoint_url: str | None
    report_path: Path | None
    resume: bool
    concurrency: int
    rate: float
    client_metadata: dict[str, str] | None
    verify_email: bool
    dry_run: bool
    no_progress: bool

    def settings(self) -> RunSettings:
        """How the run sends."""
        return RunSettings(
            self.user_pool_id,
            self.concurrency,
            self.rate,
            self.client_metadata,
            self.verify_email,
            not self.no_progress,
        )

    def confirmer(self) -> CognitoConfirmer:
        """A confirmer for the AWS configuration the options and the environment give."""
        stages = 2 if self.verify_email else 1
        return CognitoConfirmer(
            self.user_pool_id,
            region_name=self.region,
            profile_name=self.profile,
            endpoint_url=self.endpoint_url,
            max_connections=max(DEFAULT_MAX_CONNECTIONS, stages * self.concurrency),
        )


def check_usage(options: ConfirmOptions) -> None:
    """Option combinations click cannot check; raises ``click.UsageError``."""
    if (options.input_path is None) == (not options.from_pool):
        msg = "give exactly one of --input FILE, --input - and --from-pool"
        raise click.UsageError(msg)
    if options.column is not None and options.input_path is None:
        msg = "--column reads a CSV --input; --from-pool has no columns"
        raise click.UsageError(msg)
    if options.resume and options.report_path is None:
        msg = "--resume needs --report FILE: the report of the run to resume"
        raise click.UsageError(msg)
    path = options.input_path or ""
    if path.lower().endswith(".csv") and options.column is None:
        msg = f"{path} looks like a CSV file: give --column NAME, the usernames' column"
        raise click.UsageError(msg)


def _parse_metadata(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str] | None:
    metadata: dict[str, str] = {}
    for item in values:
        key, equals, value = item.partition("=")
        if not equals or not key:
            # The value is not echoed: ClientMetadata may hold secrets.
            msg = "expected KEY=VALUE"
            raise click.BadParameter(msg)
        metadata[key] = value
    return metadata or None


class _Cli(click.Group):
    """Prints every error as one line on stderr (no usage block, no traceback)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            exc.show()
            code = exc.exit_code
        except click.ClickException as exc:
            hint = (
                f" (see {exc.ctx.command_path} --help)"
                if isinstance(exc, click.UsageError) and exc.ctx
                else ""
            )
            error_line(exc.format_message() + hint)
            code = exc.exit_code
        except click.exceptions.Abort:
            warning_line("interrupted")
            code = EXIT_INTERRUPTED
        if not standalone_mode:
            return code
        sys.exit(code or 0)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cognito-confirm", prog_name=PROG)
def cli() -> None:
    """Confirm Amazon Cognito users as an administrator (AdminConfirmSignUp), in bulk."""


@cli.command()
@click.option("--user-pool-id", required=True, help="The user pool, e.g. eu-west-1_AbC123.")
@click.option(
    "--input",
    "input_path",
    metavar="FILE",
    help="Usernames, one a line (UTF-8); a CSV file with --column; - reads standard input.",
)
@click.option(
    "--from-pool",
    is_flag=True,
    help="Confirm every UNCONFIRMED user of the pool (listed with ListUsers; users who sign "
    "up meanwhile too).",
)
@click.option("--column", metavar="NAME", help="Read --input as CSV; usernames in this column.")
@click.option("--region", help="AWS region (default: the one the pool id starts with).")
@click.option("--profile", help="AWS profile from your AWS configuration.")
@click.option("--endpoint-url", metavar="URL", help="Send the calls here instead of to AWS.")
@click.option(
    "--report",
    "report_path",
    metavar="FILE.jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines, one line per user (default: cognito-confirm-POOL-TIME.jsonl here). "
    "Refused if it exists, unless --resume.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Append to --report, sending only users with no result yet or whose last was failed.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Calls in flight at most.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, 10_000, min_open=True),
    default=40.0,
    show_default=True,
    help="AdminConfirmSignUp calls per second at most. Cognito's 50/s quota is shared with "
    "live sign-ups: leave them room.",
)
@click.option(
    "--client-metadata",
    metavar="KEY=VALUE",
    multiple=True,
    callback=_parse_metadata,
    help="For the post-confirmation Lambda trigger; repeatable; never printed.",
)
@click.option(
    "--verify-email",
    is_flag=True,
    help="Also set email_verified=true on confirmed users (AdminUpdateUserAttributes: its "
    "25/s quota then bounds the run at 20 users/s).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read and check the input and the pool, print what would be sent, send nothing.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def confirm(**options: Any) -> int:
    """Confirm users from a file, standard input or the pool.

    Every user gets a line in the JSON Lines report (mode 0600) as its result comes in, so a
    run can be stopped (Ctrl-C, or even kill -9) and carried on with --resume.

    \b
    Exit codes:
      0    every user ended confirmed, already confirmed, duplicate or skipped
      1    some did not (the report says which and why)
      2    a usage or setup error (one line on stderr)
      130  stopped by Ctrl-C, 143 by SIGTERM: --resume carries on
    """
    parsed = ConfirmOptions(**options)
    check_usage(parsed)
    return _guarded(lambda: _confirm(parsed))


def _guarded(command: Callable[[], int]) -> int:
    """Run a command; a setup error becomes one line on stderr and exit code 2."""
    try:
        return command()
    except _SETUP_ERRORS as error:
        error_line(str(error))
        return EXIT_SETUP


def _confirm(options: ConfirmOptions) -> int:
    check_user_pool_id(options.user_pool_id)
    resume = None
    if options.resume:
        assert options.report_path is not None  # noqa: S101 - check_usage made sure
        resume = read_resume_state(
            options.report_path,
            user_pool_id=options.user_pool_id,
            verify_email=options.verify_email,
        )
    return anyio.run(_confirm_async, options, resume)


async def _confirm_async(options: ConfirmOptions, resume: ResumeState | None) -> int:
    skip = resume.skip_reason if resume is not None else None
    async with AsyncExitStack() as stack:
        file_source = None
        if options.input_path is not None:
            file_source = FileSource(options.input_path, column=options.column)
            stack.push_async_callback(file_source.aclose)
            await file_source.start()
        confirmer = await stack.enter_async_context(options.confirmer())
        source: UsernameSource
        if file_source is None:
            source = UnconfirmedUsers(confirmer.client, options.user_pool_id)
            stack.push_async_callback(source.aclose)
        else:
            source = file_source
        if options.dry_run:
            code = await dry_run(confirmer, source, skip)
        else:
            writer = _open_report(options, resume)
            code = await run_bulk(confirmer, source, writer, options.settings(), skip=skip)
    return code


def _open_report(options: ConfirmOptions, resume: ResumeState | None) -> ReportWriter:
    if resume is not None and options.report_path is not None:
        return ReportWriter.resume(options.report_path, resume)
    path = options.report_path or Path.cwd() / default_report_path(options.user_pool_id)
    return ReportWriter.create(path)


async def dry_run(
    confirmer: CognitoConfirmer, source: UsernameSource, skip: SkipCheck | None
) -> int:
    """Check the pool and read the whole input; print the counts (never a name); send nothing.

    Exit 1 when some input item is invalid, since the real run would end with 1 too.
    """
    pool = await describe_pool(confirmer.client, confirmer.user_pool_id)
    counts = await _triage_input(source, skip)
    if source.error is not None:
        raise source.error
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    users = "" if pool.estimated_users is None else f", about {pool.estimated_users} users"
    console.print(
        f"dry run: user pool {pool.user_pool_id} ({pool.name}{users}) is reachable; "
        "nothing was sent",
        markup=False,
    )
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    table.add_column("input items")
    table.add_column("count", justify="right")
    for label in ("to send", "invalid", "duplicates", _RESUMED):
        table.add_row(label, str(counts[label]))
    table.add_row("total", str(counts.total()))
    console.print(table)
    return EXIT_NOT_ALL_OK if counts["invalid"] else EXIT_OK


async def _triage_input(source: UsernameSource, skip: SkipCheck | None) -> Counter[str]:
    """What the engine would do with each item (its own triage), without sending anything."""
    labels = {
        Outcome.INVALID: "invalid",
        Outcome.DUPLICATE: "duplicates",
        Outcome.SKIPPED: _RESUMED,
    }
    triage = Triage(skip)
    counts: Counter[str] = Counter()
    index = 0
    async for name in source:
        source.note_result()
        settled = triage(index, name)
        counts["to send" if settled is None else labels[settled.outcome]] += 1
        index += 1
    return counts


# --- the demo --------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--users", type=click.IntRange(1, 5000), default=200, show_default=True, help="Pool size."
)
@click.option(
    "--report",
    "report_path",
    metavar="FILE.jsonl",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The report (default: in a new temporary directory).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def demo(users: int, report_path: Path | None, no_progress: bool) -> int:
    """Confirm a demo pool in a local moto server (no AWS account).

    Starts moto on a free loopback port, creates a pool of UNCONFIRMED users in it and confirms
    them through the same path as `confirm`: progress bar, report, summary.
    """
    return _guarded(lambda: anyio.run(_demo, users, report_path, not no_progress))


async def _demo(users: int, report_path: Path | None, show_progress: bool) -> int:
    async with demo_pool(users) as pool:
        click.echo(
            f"A local moto server at {pool.endpoint_url} holds user pool {pool.user_pool_id} "
            f"with {users} UNCONFIRMED users (no AWS account is involved)."
        )
        path = report_path or _demo_report_path(pool.user_pool_id)
        writer = ReportWriter.create(path)
        settings = RunSettings(
            pool.user_pool_id, DEMO_CONCURRENCY, rate=None, show_progress=show_progress
        )
        async with CognitoConfirmer(
            pool.user_pool_id, endpoint_url=pool.endpoint_url, session=demo_session()
        ) as confirmer:
            code = await run_bulk(confirmer, IterableSource(pool.usernames), writer, settings)
    click.echo(f"With your own pool: {PROG} confirm --user-pool-id ID --input users.txt --dry-run")
    return code


def _demo_report_path(user_pool_id: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="cognito-confirm-demo-"))
    return directory / default_report_path(user_pool_id)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``cognito-confirm`` script."""
    cli.main(args=argv, prog_name=PROG)


if __name__ == "__main__":
    main()
