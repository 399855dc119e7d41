"""The AWS CLI doing the same job, one process per user, against the fake Cognito endpoint.

The AWS CLI v1 pins an older botocore than aiobotocore accepts, so it lives in a venv of its own:

    python3 -m venv /tmp/awscli && /tmp/awscli/bin/pip install awscli
    .venv/bin/python benchmarks/awscli.py --aws /tmp/awscli/bin/aws

Measures two retry modes in the same run, their calls interleaved user by user: ``legacy``
(the AWS CLI v1's default, which does not retry Cognito's HTTP 400 throttling) and
``standard`` (the AWS CLI v2's default: the same botocore code, chosen here with
``AWS_RETRY_MODE=standard``; it retries TooManyRequestsException, 3 attempts in all). For each
mode: users/s at 30 ms latency, and what it does with an already confirmed user, a user
throttled once, and a user throttled on every call.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Sequence

from cognito_confirm.testing import FakeCognito

MODES = ("legacy", "standard")
"""botocore's retry modes: the AWS CLI v1's default, then v2's."""


def aws_environment(retry_mode: str) -> dict[str, str]:
    """Dummy credentials, ``retry_mode``, no AWS configuration files, whatever the developer has."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return clean | {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_RETRY_MODE": retry_mode,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws", default="aws", help="the aws executable")
    parser.add_argument("--users", type=int, default=30, help="users per retry mode")
    args = parser.parse_args(argv)
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
        version = subprocess.run(
            [args.aws, "--version"], capture_output=True, text=True, env=aws_environment("legacy")
        )
        print(f"{(version.stdout or version.stderr).strip()}, latency 30 ms")
        names = {mode: [f"{mode}{n:04d}" for n in range(args.users)] for mode in MODES}
        fake.add_users(name for batch in names.values() for name in batch)
        spent = dict.fromkeys(MODES, 0.0)
        for index in range(args.users):  # interleaved, so both modes see the same machine
            for mode in MODES:
                started = time.monotonic()
                run = [*confirm, names[mode][index]]
                subprocess.run(run, env=aws_environment(mode), check=True, capture_output=True)
                spent[mode] += time.monotonic() - started
        for mode in MODES:
            rate = args.users / spent[mode]
            print(
                f"{mode}: one process per user: {args.users} users in {spent[mode]:.1f} s "
                f"= {rate:.1f}/s"
            )
        for mode in MODES:
            fake.add_user(f"done-{mode}", status="CONFIRMED")
            fake.add_user(f"once-{mode}")
            fake.fail(f"once-{mode}", "TooManyRequestsException", times=1)
            fake.add_user(f"busy-{mode}")
            fake.fail(f"busy-{mode}", "TooManyRequestsException")
            cases = (
                ("done", "already confirmed"),
                ("once", "throttled once"),
                ("busy", "throttled always"),
            )
            for prefix, case in cases:
                name = f"{prefix}-{mode}"
                answer = subprocess.run(
                    [*confirm, name], env=aws_environment(mode), capture_output=True, text=True
                )
                calls = fake.stats().confirm_calls[name]
                said = " ".join(answer.stderr.strip().splitlines()[-1:])
                print(
                    f"{mode}: {case}: exit {answer.returncode} after {calls} call(s) {said}".strip()
                )


if __name__ == "__main__":
    main()
