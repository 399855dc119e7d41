"""The fake's Service Quotas: the one quota the library asks for, ``rate="auto"``'s source.

Only the UserCreation rate quota of cognito-idp (code ``L-5987B8A0``) is known, as in an
account: ``GetServiceQuota`` answers the applied value, or ``NoSuchResourceException`` when the
account never changed it; ``GetAWSDefaultServiceQuota`` answers AWS's default of 50.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._model import ApiError

__all__ = [
    "AWS_DEFAULT_USER_CREATION_QUOTA",
    "SERVICE_QUOTAS_ACTIONS",
    "USER_CREATION_QUOTA_CODE",
    "service_quota",
]

SERVICE_QUOTAS_ACTIONS: Final = frozenset({"GetServiceQuota", "GetAWSDefaultServiceQuota"})
USER_CREATION_QUOTA_CODE: Final = "L-5987B8A0"
AWS_DEFAULT_USER_CREATION_QUOTA: Final = 50.0


def service_quota(
    action: str, body: Mapping[str, object], applied: float | None
) -> dict[str, object]:
    """The answer to ``action`` for the quota ``body`` names, given the applied value."""
    service, code = body.get("ServiceCode"), body.get("QuotaCode")
    if service != "cognito-idp" or code != USER_CREATION_QUOTA_CODE:
        raise ApiError("NoSuchResourceException", f"The quota {code} of {service} is unknown.")
    if action == "GetServiceQuota":
        if applied is None:
            raise ApiError("NoSuchResourceException", "No applied value: the AWS default applies.")
        value = applied
    else:
        value = AWS_DEFAULT_USER_CREATION_QUOTA
    quota = {
        "ServiceCode": service,
        "QuotaCode": code,
        "QuotaName": "Rate of UserCreation requests",
        "Value": value,
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }
    return {"Quota": quota}
