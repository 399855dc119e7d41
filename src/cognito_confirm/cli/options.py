"""Option values click cannot check by type alone: each parser raises ``click.BadParameter``.

Each refuses a value before anything is created or sent, with a message that names the option
(click adds it) and, except for ``--client-metadata``, the value: a ``ClientMetadata`` value or
credentials in an endpoint URL may be secret, so those are never echoed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Final, Literal
from urllib.parse import urlsplit

import click
from botocore.exceptions import InvalidRegionError
from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url, validate_region_name

from .._validation import region_of

__all__ = [
    "MAX_RATE",
    "MAX_SECONDS",
    "endpoint_problem",
    "parse_endpoint",
    "parse_grace",
    "parse_metadata",
    "parse_outage_budget",
    "parse_rate",
    "parse_region",
    "region_note",
]

MAX_RATE: Final = 10_000.0
MAX_SECONDS: Final = 86_400.0
_SCHEMES: Final = frozenset({"http", "https"})


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
    """``--rate``: a number of calls per second in (0, MAX_RATE], or 'auto'."""
    text = value.strip().lower()
    if text == "auto":
        return "auto"
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0 < rate <= MAX_RATE:  # also false for nan
        msg = f"{value!r} is neither a number in (0, {MAX_RATE:g}] nor 'auto'"
        raise click.BadParameter(msg)
    return rate


def parse_grace(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """``--grace``: seconds in [0, MAX_SECONDS] (not nan, not inf)."""
    return _seconds(value, minimum_ok=True)


def parse_outage_budget(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    """``--outage-budget``: seconds in (0, MAX_SECONDS] (not nan, not inf)."""
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
