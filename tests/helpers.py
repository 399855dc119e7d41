"""Helpers shared by the tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cognito_confirm.testing import FakeCognito

PASSWORD = "Passw0rd!Passw0rd"  # a throwaway password for moto's fake users


@dataclass
class MotoPool:
    """A user pool in moto with an app client, and helpers to fill it."""

    endpoint_url: str
    pool_id: str
    client_id: str
    idp: Any

    def sign_up(self, *usernames: str) -> None:
        """Create UNCONFIRMED users, as a user signing up would."""
        for username in usernames:
            self.idp.sign_up(ClientId=self.client_id, Username=username, Password=PASSWORD)

    def admin_create(self, *usernames: str) -> None:
        """Create FORCE_CHANGE_PASSWORD users, as AdminCreateUser does."""
        for username in usernames:
            self.idp.admin_create_user(UserPoolId=self.pool_id, Username=username)

    def status(self, username: str) -> str:
        """The user's status as moto reports it."""
        user = self.idp.admin_get_user(UserPoolId=self.pool_id, Username=username)
        return str(user["UserStatus"])


def confirm_args(fake: FakeCognito, report: Path, *args: str) -> list[str]:
    """``cognito-confirm confirm`` arguments against the fake, writing ``report``; then ``args``."""
    return [
        "confirm",
        "--user-pool-id",
        fake.user_pool_id,
        "--endpoint-url",
        fake.endpoint_url,
        "--report",
        str(report),
        *args,
    ]


def users_file(tmp_path: Path, lines: Sequence[str], name: str = "users.txt") -> str:
    """Write ``lines`` to a file in ``tmp_path``; its path, as ``--input`` takes it."""
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return str(path)


# --- the command line as a process ----------------------------------------------------------

PROCESS_TIMEOUT = 60.0


def process_env(tmp_path: Path) -> dict[str, str]:
    """Dummy credentials and no AWS configuration files, whatever the developer has."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {
        **clean,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def command(*args: str) -> list[str]:
    """``python -m cognito_confirm ARGS``, with this interpreter."""
    return [sys.executable, "-m", "cognito_confirm", *args]


def complete_lines(report: Path) -> list[dict[str, Any]]:
    """The report's complete lines (a line being written may be cut short)."""
    if not report.exists():
        return []
    *lines, _partial = report.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines]


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[str], *, may_exit: bool = False
) -> None:
    """Poll ``condition`` while ``process`` runs (its exit fails the test unless ``may_exit``)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not condition():
        if process.poll() is not None:
            assert may_exit, process.communicate()
            return
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
