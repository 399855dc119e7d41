"""The machine a benchmark ran on, for the table's header and the JSON results."""

from __future__ import annotations

import datetime
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_PACKAGES = ("cognito-confirm", "aiobotocore", "botocore", "boto3", "anyio")


def machine_info() -> dict[str, str]:
    """CPU model, cores, load, OS, Python, the versions that matter, and the date (UTC)."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    info = {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "load average at start": load,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    info.update({name: _version(name) for name in _PACKAGES})
    info["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return info


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
