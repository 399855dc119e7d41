"""The AWS CLI doing the same job, one process per user, against the fake Cognito endpoint.

The AWS CLI v1 pins an older botocore than aiobotocore accepts, so it lives in a venv of its own:

    python3 -m venv /tmp/awscli && /tmp/awscli/bin/pip install awscli
    .venv/bin/python benchmarks/awscli.py --aws /tmp/awscli/bin/aws

Prints users/s at 30 ms latency, and what it does with an already confirmed user and with
throttling (HTTP 400, which its default legacy retry mode does not retry).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Sequence

from cognito_confirm.testing import FakeCognito


def aws_environment() -> dict[str, str]:
    """Dummy credentials and no AWS configuration files, whatever the developer has."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return clean | {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", default="aws", help="the aws executable")
    parser.add_argument("--users", type=int, default=30)
    args = parser.parse_args(argv)
    env = aws_environment()
    with FakeCognito(latency=0.03) as fake:
        confirm = [
            args.aws,
            "cognito-idp",
            "admin-confirm-sign-up",
            "--endpoint-url",
            fake.endpoint_url,
            "--user-pool-id",
            fake.user_pool_id,
            "--username",
        ]
        version = subprocess.run([args.aws, "--version"], capture_output=True, text=True, env=env)
        print(f"{(version.stdout or version.stderr).strip()}, latency 30 ms")
        names = [f"cli{n:04d}" for n in range(args.users)]
        fake.add_users(names)
        started = time.monotonic()
        for name in names:
            subprocess.run([*confirm, name], env=env, check=True, capture_output=True)
        wall = time.monotonic() - started
        print(
            f"one process per user: {args.users} users in {wall:.1f} s = {args.users / wall:.1f}/s"
        )
        fake.add_user("done", status="CONFIRMED")
        fake.add_user("busy")
        fake.fail("busy", "TooManyRequestsException")
        for name, case in (("done", "already confirmed"), ("busy", "throttled")):
            answer = subprocess.run([*confirm, name], env=env, capture_output=True, text=True)
            calls = fake.stats().confirm_calls[name]
            print(
                f"{case}: exit {answer.returncode} after {calls} call(s): {answer.stderr.strip()}"
            )


if __name__ == "__main__":
    main()
