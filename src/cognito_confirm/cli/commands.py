"""The ``cognito-confirm`` command: confirm a whole user base, resumably, inside the quota.

    cognito-confirm confirm --user-pool-id ID (--input FILE | --input - | --from-pool) [OPTIONS]
    cognito-confirm demo [--users N]

Exit codes:

    0    every user ended confirmed, already confirmed, duplicate or skipped
         (--dry-run: the pool is reachable and no input item is invalid)
    1    some user did not (the report says which and why), or --verify-email failed for some
    2    a usage or setup error, as one line on stderr: a bad option, missing, unreadable or
         malformed input, malformed or unknown pool id, no credentials, access denied, a report
         that exists (or, with --resume, is not this pool's report); nothing is created or sent
    130  stopped by SIGINT (Ctrl-C), 143 by SIGTERM, 129 by SIGHUP: nothing new was sent, the
         calls in flight had --grace seconds to finish, every result is in the report, and
         --resume carries on from there

Usernames are personal data: nothing here prints or logs one (they go to the report file, mode
0600, only; ``--debug`` alone shows the library's per-user lines), nor credentials, nor
ClientMetadata. click and rich are imported in this package only, so the library itself never
pays for them.
"""

from __future__ import annotations

import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, Final

import anyio
import click

from .._client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RATE,
    DEFAULT_READ_TIMEOUT,
    CognitoConfirmer,
)
from .._errors import CognitoConfirmError, CredentialsError, UserPoolNotFoundError
from .._gate import DEFAULT_OUTAGE_BUDGET
from .._validation import check_user_pool_id
from .demo import DemoUnavailableError, demo_pool, demo_session
from .display import PROG, error_line, print_json, say_quota, warning_line
from .inputs import FileSource, InputError, IterableSource
from .logs import logging_to_stderr
from .options import (
    ConfirmOptions,
    check_usage,
    parse_endpoint,
    parse_grace,
    parse_metadata,
    parse_outage_budget,
    parse_rate,
    parse_region,
    parse_timeout,
)
from .output import error_summary, stopped_in_setup_summary
from .report import (
    NoReportYetError,
    ReportError,
    ReportWriter,
    ResumeState,
    default_report_path,
    read_resume_state,
)
from .run import (
    DEFAULT_GRACE,
    EXIT_INTERRUPTED,
    EXIT_SETUP,
    RunSettings,
    SetupWatch,
    UsernameSource,
    dry_run,
    place_of,
    run_bulk,
    with_region_note,
)
from .userpool import UnconfirmedUsers, read_case_sensitivity

__all__ = ["cli", "main"]

DEMO_CONCURRENCY: Final = 8

_SETUP_ERRORS: Final = (InputError, ReportError, CognitoConfirmError, DemoUnavailableError)


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


def _seconds_option(
    name: str, callback: Callable[..., float], default: float, help_text: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An option taking a number of seconds, checked by ``callback``."""
    return click.option(
        name,
        metavar="SECONDS",
        callback=callback,
        default=str(default),
        show_default=True,
        help=help_text,
    )


def _logging_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-v`` and ``--debug``, for every command that talks to Cognito."""
    command = click.option(
        "--debug",
        is_flag=True,
        help="Show the library's log on stderr down to DEBUG: one line per user, with the "
        "username (botocore's own log stays off: it holds request bodies).",
    )(command)
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show the library's log on stderr at INFO: the run's start and end, pace cuts, "
        "outages (no usernames).",
    )(command)


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
@click.option(
    "--region",
    callback=parse_region,
    help="AWS region (default: the one the pool id starts with).",
)
@click.option("--profile", help="AWS profile from your AWS configuration.")
@click.option(
    "--endpoint-url",
    metavar="URL",
    callback=parse_endpoint,
    help="Send the calls here instead of to AWS: scheme://host[:port], no path.",
)
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
    help="Append to --report, sending only users with no result yet or whose last was failed; "
    "a --report not there yet is started (said on stderr), so one command line serves a "
    "restartable job's first run and its restarts.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Calls in flight at most. [default: as many as the pace needs (its rate times the "
    "calls' latency), up to 64]",
)
@click.option(
    "--rate",
    metavar="RATE|auto",
    callback=parse_rate,
    default=str(DEFAULT_RATE),
    show_default=True,
    help="AdminConfirmSignUp calls per second at most (0.5 or more), or 'auto': the account's "
    "UserCreation quota from Service Quotas less 20%. The quota is shared with live sign-ups; "
    "the pace also slows by itself when Cognito throttles. Above 49/s (98% of the default "
    "quota) it starts at 49/s and after 5 s speeds up 5% a second while nothing is throttled.",
)
@click.option(
    "--client-metadata",
    metavar="KEY=VALUE",
    multiple=True,
    callback=parse_metadata,
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
@_seconds_option(
    "--grace",
    parse_grace,
    DEFAULT_GRACE,
    "After SIGINT, SIGTERM or SIGHUP, how long the calls in flight may take to finish before "
    "they are abandoned (nothing new is sent meanwhile). The default fits, with the rest of "
    "the shutdown, in the 30 s Kubernetes allows.",
)
@_seconds_option(
    "--outage-budget",
    parse_outage_budget,
    DEFAULT_OUTAGE_BUDGET,
    "When Cognito stops answering (connections fail, time out, or HTTP 5xx), the run holds, "
    "sending nobody new, and carries on when it answers again; after this long without an "
    "answer it stops (exit 2), every result written.",
)
@_seconds_option(
    "--connect-timeout",
    parse_timeout,
    DEFAULT_CONNECT_TIMEOUT,
    "How long to wait for a connection to Cognito before the call counts as unanswered.",
)
@_seconds_option(
    "--read-timeout",
    parse_timeout,
    DEFAULT_READ_TIMEOUT,
    "How long to wait for Cognito's answer (a post-confirmation Lambda trigger runs within it) "
    "before the call counts as unanswered.",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How the summary is printed on stdout: a table, or one JSON object (for pipelines; "
    "also with --dry-run). The progress bar and notes stay on stderr.",
)
@_logging_options
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
      130  stopped by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP: --resume carries on
    """
    parsed = ConfirmOptions(**options)
    check_usage(parsed)
    with logging_to_stderr(parsed.log_level):
        return _guarded(lambda: _confirm(parsed), parsed if parsed.json_output else None)


def _guarded(command: Callable[[], int], json_for: ConfirmOptions | None = None) -> int:
    """Run a command; a setup error becomes one line on stderr and exit code 2 (and, with
    ``--output json``, the error's summary on stdout)."""
    try:
        return command()
    except _SETUP_ERRORS as error:
        error_line(str(error))
        if json_for is not None:
            summary = error_summary(
                error,
                user_pool_id=json_for.user_pool_id,
                dry_run=json_for.dry_run,
                exit_code=EXIT_SETUP,
            )
            print_json(summary)
        return EXIT_SETUP


def _confirm(options: ConfirmOptions) -> int:
    check_user_pool_id(options.user_pool_id)
    resume = None
    if options.resume:
        assert options.report_path is not None  # noqa: S101 - check_usage made sure
        try:
            resume = read_resume_state(
                options.report_path,
                user_pool_id=options.user_pool_id,
                verify_email=options.verify_email,
            )
        except NoReportYetError:
            # One command line for a restartable job's first run and its restarts.
            warning_line(
                f"--resume: report {options.report_path} does not exist yet: "
                "starting a new run there"
            )
    if resume is None and options.report_path is not None and not options.dry_run:
        ReportWriter.refuse_existing(options.report_path)  # before DescribeUserPool is sent
    return anyio.run(_confirm_async, options, resume)


async def _confirm_async(options: ConfirmOptions, resume: ResumeState | None) -> int:
    setup = SetupWatch()
    failure: Exception | None = None
    code = None
    async with anyio.create_task_group() as watcher:
        await watcher.start(setup.watch)
        try:
            code = await _confirm_steps(options, resume, setup)
        except Exception as exc:  # noqa: BLE001 - raised below, out of the task group
            failure = exc  # as itself, not wrapped in an ExceptionGroup
        finally:
            watcher.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return code if code is not None else _stopped_in_setup(options, setup)


async def _confirm_steps(
    options: ConfirmOptions, resume: ResumeState | None, setup: SetupWatch
) -> int | None:
    """The command's steps; None when a signal stopped the setup, before the run."""
    skip = resume.skip_reason if resume is not None else None
    async with AsyncExitStack() as stack:
        with setup.scope:
            file_source = None
            if options.input_path is not None:
                file_source = FileSource(options.input_path, column=options.column)
                stack.push_async_callback(file_source.aclose)
                await file_source.start()
            confirmer = await stack.enter_async_context(_checked(options.confirmer()))
            if resume is not None and options.report_path is not None:
                resume.check_place(options.report_path, place_of(confirmer))
            if confirmer.quota is not None:
                say_quota(confirmer.quota, confirmer.limiter.rate)
            source: UsernameSource
            if file_source is None:
                source = UnconfirmedUsers(confirmer.client, options.user_pool_id)
                stack.push_async_callback(source.aclose)
            else:
                source = file_source
            try:
                if options.dry_run:
                    return await dry_run(confirmer, source, skip, json_output=options.json_output)
                await read_case_sensitivity(confirmer)
            except UserPoolNotFoundError as error:
                raise with_region_note(error, options.settings().region_note) from None
        if setup.signal is not None:
            return None
        writer = _open_report(options, resume)
        earlier = resume.last if resume is not None else None
        return await run_bulk(
            confirmer, source, writer, options.settings(), skip=skip, earlier=earlier
        )


def _stopped_in_setup(options: ConfirmOptions, setup: SetupWatch) -> int:
    """A signal before the run started: one line, the JSON summary, 128 + the signal."""
    assert setup.signal is not None  # noqa: S101 - the only way here
    code = 128 + setup.signal
    if options.json_output:
        summary = stopped_in_setup_summary(
            setup.signal, user_pool_id=options.user_pool_id, dry_run=options.dry_run, exit_code=code
        )
        print_json(summary)
    name = signal.Signals(setup.signal).name
    warning_line(f"stopped by {name} before the run started: nothing was sent, no report written")
    return code


@asynccontextmanager
async def _checked(confirmer: CognitoConfirmer) -> AsyncIterator[CognitoConfirmer]:
    """Open the confirmer; botocore's ValueError for a configuration it cannot use (an endpoint
    or a region from the AWS config file, say) becomes a one-line setup error."""
    try:
        opened = await confirmer.__aenter__()
    except ValueError as exc:
        if isinstance(exc, CognitoConfirmError):
            raise
        msg = f"the AWS configuration gives no usable Cognito client: {exc}"
        raise CredentialsError(msg) from None
    try:
        yield opened
    finally:
        await confirmer.aclose()


def _open_report(options: ConfirmOptions, resume: ResumeState | None) -> ReportWriter:
    if resume is not None and options.report_path is not None:
        return ReportWriter.resume(options.report_path, resume)
    path = options.report_path or Path.cwd() / default_report_path(options.user_pool_id)
    return ReportWriter.create(path)


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
@_logging_options
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
def demo(
    users: int, report_path: Path | None, verbose: bool, debug: bool, no_progress: bool
) -> int:
    """Confirm a demo pool in a local moto server (no AWS account).

    Starts moto on a free loopback port, creates a pool of UNCONFIRMED users in it and confirms
    them through the same path as `confirm`: progress bar, report, summary.
    """
    level = logging.DEBUG if debug else logging.INFO if verbose else None
    with logging_to_stderr(level):
        return _guarded(lambda: anyio.run(_demo, users, report_path, not no_progress))


async def _demo(users: int, report_path: Path | None, show_progress: bool) -> int:
    async with demo_pool(users) as pool:
        click.echo(
            f"A local moto server at {pool.endpoint_url} holds user pool {pool.user_pool_id} "
            f"with {users} UNCONFIRMED users (no AWS account is involved)."
        )
        click.echo(
            f"Pace: up to {DEFAULT_RATE:g} calls/s, what `confirm` does by default: Cognito's "
            "UserCreation quota (50/s by default) is shared with your live sign-ups."
        )
        path = report_path or _demo_report_path(pool.user_pool_id)
        writer = ReportWriter.create(path)
        settings = RunSettings(pool.user_pool_id, DEMO_CONCURRENCY, show_progress=show_progress)
        async with CognitoConfirmer(
            pool.user_pool_id,
            endpoint_url=pool.endpoint_url,
            session=demo_session(),
            rate=DEFAULT_RATE,
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
