"""``rate="auto"``: the account's UserCreation quota, read once from Service Quotas.

Why read it: the quota is adjustable (and purchasable), so a ceiling hard-coded for the 50/s
default is too low for many accounts and too high for none. Why only once, at the start: Service
Quotas answers what is *applied*, not what is left, and the pacer learns the rest from Cognito's
own throttling anyway.

Where no applied value exists (an account that never changed it) the AWS default is asked for;
without the ``servicequotas:GetServiceQuota`` permission, or without any answer, the pace falls
back to Cognito's documented default of 50/s and says why, once. botocore's own configuration
chain applies, ``AWS_ENDPOINT_URL_SERVICE_QUOTAS`` included.

Where Cognito is not AWS's (a loopback fake, moto, an emulator: an endpoint whose host is not
under ``amazonaws.com``, ``amazonaws.com.cn`` or ``api.aws``) while Service Quotas would be,
nothing is asked: a signed request to AWS's public endpoint about an account that has nothing
to do with the pool served there is a leak, and its answer would be the wrong pool's quota. The
fallback then says so. A VPC endpoint for Cognito (``vpce-...cognito-idp...vpce.amazonaws.com``)
is AWS's, so the real quota is read; a Service Quotas endpoint configured for the fake (or
``AWS_ENDPOINT_URL``) is asked as configured.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from ._pace import DEFAULT_QUOTA

__all__ = [
    "DEFAULT_RESERVE",
    "FALLBACK_QUOTA",
    "NOT_ASKED",
    "QUOTA_CODE",
    "SERVICE_CODE",
    "QuotaReading",
    "read_user_creation_quota",
]

logger = logging.getLogger("cognito_confirm")

SERVICE_CODE: Final = "cognito-idp"
QUOTA_CODE: Final = "L-5987B8A0"
"""Service Quotas' code for "Rate of UserCreation requests" (AdminConfirmSignUp, SignUp, ...)."""
FALLBACK_QUOTA: Final = DEFAULT_QUOTA
"""Cognito's documented default UserCreation quota, used when Service Quotas cannot say."""
DEFAULT_RESERVE: Final = 0.2
"""The share of the quota ``rate="auto"`` leaves to live traffic."""
_TIMEOUT: Final = 5
_AWS_DOMAINS: Final = ("amazonaws.com", "amazonaws.com.cn", "api.aws")
NOT_ASKED: Final = (
    "not asked: the Cognito endpoint is not AWS's, and Service Quotas would be; "
    "AWS_ENDPOINT_URL_SERVICE_QUOTAS names one to ask"
)


@dataclass(frozen=True, slots=True)
class QuotaReading:
    """The UserCreation quota and where it came from.

    Attributes:
        value: Requests per second.
        source: ``"applied"``, ``"aws-default"`` or ``"fallback"``.
        problem: Why Service Quotas could not say (only for ``"fallback"``).
    """

    value: float
    source: str
    problem: str | None = None

    def pace(self, reserve: float) -> float:
        """The rate to pace at: the quota less the share kept for live traffic."""
        return self.value * (1.0 - reserve)


async def read_user_creation_quota(
    session: AioSession, region_name: str | None, *, cognito_endpoint: str | None = None
) -> QuotaReading:
    """Ask Service Quotas for the applied UserCreation quota, then the AWS default.

    Never raises for a missing permission or an unreachable endpoint: the reading then says
    ``fallback`` and why, and a warning is logged once. ``cognito_endpoint``: where the Cognito
    calls go; one that is not AWS's asks no AWS Service Quotas (see the module doc).
    """
    config = AioConfig(
        connect_timeout=_TIMEOUT,
        read_timeout=_TIMEOUT,
        retries={"total_max_attempts": 2, "mode": "standard"},
    )
    codes = {"ServiceCode": SERVICE_CODE, "QuotaCode": QUOTA_CODE}
    try:
        async with session.create_client(
            "service-quotas", region_name=region_name, config=config
        ) as client:
            if _leaves_for_aws(cognito_endpoint, client.meta.endpoint_url):
                return _fallback(NOT_ASKED)
            try:
                answer: Any = await client.get_service_quota(**codes)
                source = "applied"
            except botocore.exceptions.ClientError as exc:
                if _code(exc) != "NoSuchResourceException":
                    raise
                answer = await client.get_aws_default_service_quota(**codes)
                source = "aws-default"
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return _fallback(_describe(exc))
    value = _value_in(answer)
    if value is None:
        return _fallback("unexpected answer from Service Quotas")
    return QuotaReading(value, source)


def _is_aws(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in _AWS_DOMAINS)


def _leaves_for_aws(cognito_endpoint: str | None, quotas_endpoint: str) -> bool:
    """Whether Service Quotas would go to AWS while Cognito does not."""
    return (
        cognito_endpoint is not None and not _is_aws(cognito_endpoint) and _is_aws(quotas_endpoint)
    )


def _value_in(answer: Any) -> float | None:
    try:
        value = float(answer["Quota"]["Value"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if value > 0 and value != float("inf") else None


def _fallback(problem: str) -> QuotaReading:
    logger.warning(
        "rate='auto': could not read the UserCreation quota from Service Quotas (%s); "
        "assuming Cognito's default of %.0f/s",
        problem,
        FALLBACK_QUOTA,
    )
    return QuotaReading(FALLBACK_QUOTA, "fallback", problem)


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _describe(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return _code(exc) or type(exc).__name__
    return type(exc).__name__
