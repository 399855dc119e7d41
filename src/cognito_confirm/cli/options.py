"""The ``confirm`` command's options once parsed, and the checks click cannot do by type alone.

Each parser raises ``click.BadParameter``, ``check_usage`` a ``click.UsageError``: a value is
refused before anything is created or sent, with a message that names the option (click adds
it) and, except for ``--client-metadata``, the value: a ``ClientMetadata`` value or credentials
in an endpoint URL may be secret, so those are never echoed.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

import click
from aiobotocore.config import AioConfig
from botocore.exceptions import InvalidRegionError
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url, validate_region_name

from .._client import DEFAULT_MAX_CONNECTIONS, CognitoConfirmer
from .._pace import MIN_RATE
from .._validation import region_of
from .run import RunSettings

__all__ = [
    "MAX_RATE",
    "MAX_SECONDS",
    "ConfirmOptions",
    "check_usage",
    "endpoint_problem",
    "parse_endpoint",
    "parse_grace",
    "parse_metadata",
    "parse_outage_budget",
    "parse_rate",
    "parse_region",
    "parse_timeout",
    "region_note",
]

MAX_RATE: Final = 10_000.0
MAX_SECONDS: Final = 86_400.0
_SCHEMES: Final = frozenset({"http", "https"})
_ENDPOINT_VARIABLES: Final = ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_ENDPOINT_URL")


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
    concurrency: int | None
    rate: float | Literal["auto"]
    client_metadata: dict[str, str] | None
    verify_email: bool
    dry_run: bool
    no_progress: bool
    grace: float
    outage_budget: float
    connect_timeout: float
    read_timeout: float
    output: Literal["table", "json"]
    verbose: bool
    debug: bool

    def settings(self) -> RunSettings:
        """How the run sends."""
        return RunSettings(
            self.user_pool_id,
            self.concurrency,
            self.client_metadata,
            self.verify_email,
            not self.no_progress,
            self.grace,
            region_note(self.user_pool_id, self.region),
            self.outage_budget,
            json_output=self.json_output,
        )

    @property
    def json_output(self) -> bool:
        """``--output json``: the summary as one JSON object on stdout."""
        return self.output == "json"

    @property
    def log_level(self) -> int | None:
        """The level ``-v`` or ``--debug`` asks for, or None."""
        if self.debug:
            return logging.DEBUG
        return logging.INFO if self.verbose else None

    def confirmer(self) -> CognitoConfirmer:
        """A confirmer for the AWS configuration the options and the environment give."""
        stages = 2 if self.verify_email else 1
        return CognitoConfirmer(
            self.user_pool_id,
            region_name=self.region,
            profile_name=self.profile,
            endpoint_url=self.endpoint_url,
            max_connections=max(
                DEFAULT_MAX_CONNECTIONS, stages * (self.concurrency or DEFAULT_MAX_CONNECTIONS)
            ),
            rate=self.rate,
            config=AioConfig(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout),
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
    if options.endpoint_url is None:
        _check_endpoint_variables()


def _check_endpoint_variables() -> None:
    """An endpoint botocore would take from the environment gets the option's check."""
    for name in _ENDPOINT_VARIABLES:
        value = os.environ.get(name)
        if value:  # botocore ignores an empty one
            problem = endpoint_problem(value)
            if problem is not None:
                msg = f"{name}: {problem}"
                raise click.UsageError(msg)
            return


def parse_metadata(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str] | None:
    """``--client-metadata KEY=VALUE``, repeated: a dict, or None when not given."""
    metadata: dict[str, str] = {}
    for item in values:
        key, equals, value = item.partition("=")
        if not equals or not key:
            # The value is not echoed: ClientMetadata may hold secrets.
            msg = "expected KEY=VALUE"
            raise click.BadParameter(msg)
        metadata[key] = value
    return metadata or None


def parse_rate(_ctx: click.Context, _param: click.Parameter, value: str) -> float | Literal["auto"]:
    """``--rate``: a number of calls per second in [MIN_RATE, MAX_RATE], or 'auto'.

    Below ``MIN_RATE`` (0.5/s, the pacer's floor: throttling never slows it further) is
    refused rather than raised to it: an operator who asked for one call every 10 s to spare
    a trigger's downstream must not get 5 times that without a word.
    """
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0 < rate <= MAX_RATE:  # also false for nan
        msg = f"{value!r} is neither a number in [{MIN_RATE:g}, {MAX_RATE:g}] nor 'auto'"
        raise click.BadParameter(msg)
    if rate < MIN_RATE:
        msg = (
            f"{value!r} is below {MIN_RATE:g} calls per second, the slowest pace the run keeps "
            "(it would be raised to that, not honoured)"
        )
        raise click.BadParameter(msg)
    return rate


def parse_grace(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """``--grace``: seconds in [0, MAX_SECONDS] (not nan, not inf)."""
    return _seconds(value, minimum_ok=True)


def parse_outage_budget(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """``--outage-budget``: seconds in (0, MAX_SECONDS] (not nan, not inf)."""
    return _seconds(value, minimum_ok=False)


def parse_timeout(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """``--connect-timeout``, ``--read-timeout``: seconds in (0, MAX_SECONDS]."""
    return _seconds(value, minimum_ok=False)


def _seconds(value: str, *, minimum_ok: bool) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    above = seconds >= 0 if minimum_ok else seconds > 0
    if not (above and seconds <= MAX_SECONDS):  # also false for nan
        bracket = "[" if minimum_ok else "("
        msg = f"{value!r} is not a number of seconds in {bracket}0, {MAX_SECONDS:g}]"
        raise click.BadParameter(msg)
    return seconds


def parse_region(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--region``: a region name botocore accepts (a host label, such as eu-west-1)."""
    return _checked(value, _region_problem)


def parse_endpoint(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--endpoint-url``: scheme://host[:port], as botocore needs it and Cognito serves it."""
    return _checked(value, endpoint_problem)


def _checked(value: str | None, problem: Callable[[str], str | None]) -> str | None:
    """The value given, or ``click.BadParameter`` with what is wrong with it."""
    reason = None if value is None else problem(value)
    if reason is not None:
        raise click.BadParameter(reason)
    return value


def _region_problem(region: str) -> str | None:
    try:
        validate_region_name(region)
    except InvalidRegionError:
        pass
    else:
        if region:
            return None
    return f"{region!r} is not an AWS region name such as eu-west-1"


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be a Cognito endpoint, or None; the message quotes a safe URL only."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"{url!r} is not a URL such as https://cognito-idp.eu-west-1.amazonaws.com"
    if parts.username is not None or parts.password is not None:
        return "a URL with credentials in it is refused (and not shown)"
    shown = repr(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
        return f"{shown} is not an http:// or https:// URL with a host, e.g. http://localhost:5000"
    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        return f"{shown} has no valid host name"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{shown} has a path or query: Cognito answers at scheme://host[:port] only"
    if port == 0:
        return f"{shown} has port 0"
    return None


def region_note(user_pool_id: str, region: str | None) -> str | None:
    """A note when ``--region`` sends the calls elsewhere than the pool id's own region."""
    pool_region = region_of(user_pool_id)
    if region is None or pool_region is None or region == pool_region:
        return None
    return f"the pool id names region {pool_region}, but --region sends the calls to {region}"
