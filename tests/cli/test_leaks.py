"""Issue #17's must-show: no username or ClientMetadata value in any message, on any error path.

Each path plants a username and a metadata value in the server's answer (the fake answers the
message it is told), then scans what an operator or a log sees: stdout, stderr and the
``--output json`` summary of the command line, and ``str()`` of the library's errors. The
report file is not scanned: it is the list of users, by design.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cognito_confirm import CognitoConfirmer, CognitoConfirmError, RetryPolicy
from cognito_confirm.cli.commands import cli
from cognito_confirm.testing import FakeCognito
from tests.helpers import confirm_args, serve_cli_in_process, users_file
from tests.virtual_time import local_client, virtual_time

USER = "leaky.user.4711"
SECRET = "s3cr3t-metadata-value"
NAMES = [f"{USER}-{n}" for n in range(12)]
PLANTED = f"{USER} with {SECRET} said no"
FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)

# Per-user answers (every user gets it) and run-level ones (every call), by code. The codes
# Cognito retries (throttling, 5xx) are left to the library half: the CLI's default retry
# policy waits them out for minutes.
PER_USER = [
    "UserNotFoundException",
    "NotAuthorizedException",
    "InvalidParameterException",
    "UserLambdaValidationException",
    "UnexpectedLambdaException",
    "InvalidLambdaResponseException",
    "TooManyFailedAttemptsException",
    "WeirdUnknownException",
]
RUN_LEVEL = [
    "ResourceNotFoundException",
    "OperationNotEnabledException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "ExpiredToken",
    "RequestExpired",
]
RETRIED = ["TooManyRequestsException", "LimitExceededException", "InternalErrorException"]
Setup = Callable[[FakeCognito], None]


def per_user(code: str) -> Setup:
    def setup(fake: FakeCognito) -> None:
        for name in NAMES:
            fake.fail(name, code, message=f"{name} with {SECRET} said no")

    return setup


def run_level(code: str) -> Setup:
    def setup(fake: FakeCognito) -> None:
        # after=1: the run's first call, DescribeUserPool (#17 case 3), carries neither a
        # username nor ClientMetadata, so no server can echo them in its answer; the calls
        # that carry them (AdminConfirmSignUp) are the ones that echo here.
        fake.fail_all(code, message=f"{NAMES[0]} with {SECRET} said no", after=1)

    return setup


def html(fake: FakeCognito) -> None:
    fake.answer_html(200, body=f"<html>{PLANTED}</html>")


def empty(fake: FakeCognito) -> None:
    fake.answer_html(200, body="", content_type="application/x-amz-json-1.1", request_id=True)


def dark(fake: FakeCognito) -> None:
    fake.go_dark(mode="refuse")


PATHS: dict[str, Setup] = {
    **{code: per_user(code) for code in PER_USER},
    **{code: run_level(code) for code in RUN_LEVEL},
    "html page": html,
    "empty 200": empty,
    "unreachable": dark,
}


@pytest.fixture
def fake() -> Iterator[FakeCognito]:
    """A fake Cognito endpoint holding NAMES."""
    with FakeCognito(seed=17) as server:
        server.add_users(NAMES)
        yield server


def assert_clean(text: str, where: str) -> None:
    assert USER not in text, f"a username in {where}: {text[:400]}"
    assert SECRET not in text, f"a metadata value in {where}: {text[:400]}"


CLI_ON_THE_WIRE = {"html page", "empty 200", "unreachable"}
"""The command line's paths over HTTP: what only bytes on the wire show, and a connection really
refused (the only test of the command line that sees one; its DescribeUserPool's three tries
back off on the wall clock, about 0.5 s). The others run in-process on virtual time
(``serve_cli_in_process``): the fake answers the same planted message either way."""


@pytest.mark.parametrize("path", sorted(PATHS))
def test_the_cli_shows_no_username_nor_metadata(
    fake: FakeCognito, tmp_path: Path, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stdout, stderr and the JSON summary of `confirm --output json`, -v, on each path."""
    if path not in CLI_ON_THE_WIRE:
        serve_cli_in_process(monkeypatch, fake)
    PATHS[path](fake)
    argv = confirm_args(
        fake,
        tmp_path / "report.jsonl",
        "--rate",
        "1000",
        "--outage-budget",
        "1",
        "--client-metadata",
        f"source={SECRET}",
        "--output",
        "json",
        "-v",
        "--input",
        users_file(tmp_path, NAMES),
    )
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.stdout.strip().startswith("{"), result.output
    assert_clean(result.stdout, "stdout (the JSON summary)")
    assert_clean(result.stderr, "stderr")


ON_THE_WIRE = {"html page", "empty 200"}
"""Paths only bytes on the wire can show (the in-process fake answers no HTML page)."""


@pytest.mark.parametrize("path", sorted({*PATHS, *RETRIED} - ON_THE_WIRE))
@virtual_time
async def test_library_errors_show_no_username_nor_metadata(path: str) -> None:
    """str() of what confirm() raises and of what stops confirm_many(), on each path (the fake
    in-process on virtual time: a pace that throttling cuts to 0.5/s takes no wall time)."""
    fake = FakeCognito(seed=17)
    fake.add_users(NAMES)
    (PATHS.get(path) or per_user(path))(fake)
    await assert_library_errors_clean(
        CognitoConfirmer(fake.user_pool_id, client=local_client(fake), **LIBRARY)
    )


@pytest.mark.parametrize("path", sorted(ON_THE_WIRE))
async def test_library_errors_show_no_username_nor_metadata_on_the_wire(
    fake: FakeCognito, path: str
) -> None:
    """The same for the answers only HTTP carries: an HTML page, an empty answer."""
    PATHS[path](fake)
    await assert_library_errors_clean(
        CognitoConfirmer(fake.user_pool_id, endpoint_url=fake.endpoint_url, **LIBRARY)
    )


LIBRARY: dict[str, Any] = {"retry": FAST, "rate": None, "max_wait": None}


async def assert_library_errors_clean(confirmer: CognitoConfirmer) -> None:
    raised: list[BaseException] = []
    async with confirmer as c:
        try:
            await c.confirm(NAMES[0], client_metadata={"source": SECRET})
        except CognitoConfirmError as error:
            raised.append(error)
        try:
            report = await c.confirm_many(
                NAMES, client_metadata={"source": SECRET}, outage_budget=1.0
            )
        except CognitoConfirmError as error:
            raised.append(error)
        else:
            assert all(r.outcome.value != "confirmed" for r in report.results)
        try:
            await c.confirm(NAMES[0], client_metadata={"source": 4711})  # type: ignore[dict-item]
        except ValueError as error:
            raised.append(error)
    assert len(raised) >= 2
    for seen in raised:
        assert_clean(str(seen), f"str({type(seen).__name__})")
        assert_clean(repr(seen), f"repr({type(seen).__name__})")
