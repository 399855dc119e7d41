"""Helpers shared by the tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import boto3
import pytest

from cognito_confirm import AdaptiveRateLimiter, CognitoConfirmer
from cognito_confirm._client import DEFAULT_READ_TIMEOUT
from cognito_confirm.testing import FakeCognito
from tests.virtual_time import VirtualTimeLoop, _JumpingSelector, local_client

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

    @classmethod
    def create(cls, endpoint_url: str) -> MotoPool:
        """A new user pool with an app client in the moto server at ``endpoint_url``."""
        idp = boto3.session.Session().client(
            "cognito-idp",
            region_name="us-east-1",
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        pool_id = idp.create_user_pool(PoolName="test")["UserPool"]["Id"]
        client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app")
        return cls(endpoint_url, pool_id, client["UserPoolClient"]["ClientId"], idp)

    def delete(self) -> None:
        """Delete the pool and close the client."""
        self.idp.delete_user_pool(UserPoolId=self.pool_id)
        self.idp.close()


UNPACED = 10_000.0
"""A ceiling so high that, against a fake without a quota, no call waits for the pace."""


def unpaced(rate: float = UNPACED) -> AdaptiveRateLimiter:
    """A pacer that starts at ``rate``: the quota it assumes is as high (a fake without one).

    A confirmer's own pacer starts no higher than Cognito's default 50/s and probes up."""
    return AdaptiveRateLimiter(rate, quota=rate)


def isolate_aws(patch: pytest.MonkeyPatch, directory: Path) -> None:
    """Keep the developer's own AWS configuration out: dummy credentials, no configuration
    files (their paths in ``directory``, never created), no instance metadata."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        patch.delenv(name)
    patch.setenv("AWS_ACCESS_KEY_ID", "testing")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patch.setenv("AWS_CONFIG_FILE", str(directory / "no-aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "no-aws-credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Each test's bulk runs count their peers on their own (xdist workers run tests at once).
    patch.setenv("COGNITO_CONFIRM_PEERS", str(directory / "peers"))


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
        "COGNITO_CONFIRM_PEERS": str(tmp_path / "peers"),
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


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (a fake's state that another thread changes)."""
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[str], *, may_exit: bool = False
) -> None:
    """Poll ``condition`` while ``process`` runs (its exit fails the test unless ``may_exit``)."""
    wait_for(lambda: condition() or process.poll() is not None)
    if not condition():
        assert may_exit, process.communicate()


# --- the command line in-process, on virtual time -------------------------------------------


class _ThreadAwareSelector(_JumpingSelector):
    """Jumps to the next timer as ``tests.virtual_time``'s does, except while a worker thread
    works for the loop (``anyio.to_thread``): then it waits for real until the thread's answer
    wakes the loop, so a thread's work takes no virtual time. The command line reads its input
    in threads: a jump there would let an outage or a budget pass while a file is parsed."""

    def __init__(self, start: float) -> None:
        super().__init__()
        self.now = start
        self.threads = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if self.threads:
            return selectors.DefaultSelector.select(self, timeout)
        return super().select(timeout)


class _CliLoop(VirtualTimeLoop):
    """A ``VirtualTimeLoop`` whose clock starts at ``start`` and stands still for threads."""

    def __init__(self, start: float) -> None:
        self._jumping = _ThreadAwareSelector(start)
        asyncio.SelectorEventLoop.__init__(self, self._jumping)


def serve_cli_in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeCognito) -> None:
    """From now on in this test, the command line run in-process (click's ``CliRunner``) runs
    on virtual time and its confirmer's client is ``fake`` in-process (``local_client``).

    Everything of the command runs as it does for a user (options, the confirmer it builds and
    opens, input threads, report, summary) but the aiobotocore session, client and HTTP: a run
    costs a fifth of the CPU, and a pace, an outage or a budget takes no wall time. The clock
    goes on from one run of the test to the next. The report names the endpoint
    ``local://fake-cognito``; credentials are not read: what needs HTTP, or an endpoint or
    credentials of the user's, is tested over HTTP.
    """
    clock = [0.0]
    real_run, real_to_thread = anyio.run, anyio.to_thread.run_sync

    def run(func: Callable[..., Awaitable[Any]], *args: Any, **_options: Any) -> Any:
        loops: list[_CliLoop] = []

        def new_loop() -> _CliLoop:
            loops.append(_CliLoop(clock[0]))
            return loops[-1]

        try:
            return real_run(func, *args, backend_options={"loop_factory": new_loop})
        finally:
            if loops:
                clock[0] = loops[-1].time()

    async def to_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        selector = getattr(asyncio.get_running_loop(), "_jumping", None)
        if not isinstance(selector, _ThreadAwareSelector):
            return await real_to_thread(func, *args, **kwargs)
        selector.threads += 1
        try:
            return await real_to_thread(func, *args, **kwargs)
        finally:
            selector.threads -= 1

    @contextlib.asynccontextmanager
    async def create_client(confirmer: CognitoConfirmer) -> AsyncIterator[Any]:
        timeout = getattr(confirmer._config, "read_timeout", None) or DEFAULT_READ_TIMEOUT
        yield local_client(fake, confirmer._max_connections, read_timeout=timeout)

    monkeypatch.setattr(anyio, "run", run)
    monkeypatch.setattr(anyio.to_thread, "run_sync", to_thread)
    monkeypatch.setattr(CognitoConfirmer, "_create_client", create_client)


# --- what a long-lived process builds once, built once per test process ---------------------


def share_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every aiobotocore client shares one SSL context, and moto's pools one signing key.

    A long-lived process opens one client and one pool; a test opens its own each time, and
    each rebuilt what never changes: aiobotocore reads certifi's CA bundle into a new SSL
    context (in a thread) before a client's first call, 20-50 ms even for an http:// endpoint,
    and moto's CreateUserPool imports the same RSA key from the same JSON, 0.1 s. Versions that
    do neither (aiobotocore < 2.16, an older moto) are left as they are. ``monkeypatch`` is
    pytest's fixture: the sharing ends with the test.
    """
    from aiobotocore.httpsession import AIOHTTPSession
    from moto.cognitoidp import models as moto_cognitoidp

    build = getattr(AIOHTTPSession, "_build_ssl_contexts", None)
    if build is not None:

        def shared_ssl_contexts(session: Any, proxy_url: str | None) -> Any:
            verify = session._verify  # True, or a CA bundle's path (e.g. REQUESTS_CA_BUNDLE)
            if proxy_url is not None or session._cert_file or not isinstance(verify, str | bool):
                return build(session, proxy_url)  # not what the tests configure: build it
            key = f"ssl {verify}"
            if key not in _BUILT_ONCE:
                _BUILT_ONCE[key] = build(session, proxy_url)
            return _BUILT_ONCE[key]

        monkeypatch.setattr(AIOHTTPSession, "_build_ssl_contexts", shared_ssl_contexts)
    rsa_key = getattr(getattr(moto_cognitoidp, "jwk", None), "RSAKey", None)
    if rsa_key is not None:
        if "jwk" not in _BUILT_ONCE:
            _BUILT_ONCE["jwk"] = _OneImportJwk(rsa_key)
        monkeypatch.setattr(moto_cognitoidp, "jwk", _BUILT_ONCE["jwk"])


_BUILT_ONCE: dict[str, Any] = {}


class _OneImportJwk:
    """``joserfc.jwk`` as moto's Cognito uses it, ``jwk.RSAKey.import_key``: each key once."""

    def __init__(self, rsa_key: Any) -> None:
        self.RSAKey = self
        self._rsa_key = rsa_key
        self._imported: list[tuple[Any, Any]] = []

    def import_key(self, data: Any) -> Any:
        for seen, key in self._imported:
            if seen == data:
                return key
        key = self._rsa_key.import_key(data)
        self._imported.append((data, key))
        return key


def first_call_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pace's calls at the start of their slots (``_ratelimit.JITTER`` 0, as
    test_ratelimit's ``even_spacing`` sets it), for a test of answers, errors or configuration
    rather than of the pace's spacing: its first call goes at once instead of a random part of
    a slot later (21 ms at the default 40/s, with the seeded generator's first draw, 0.84)."""
    from cognito_confirm import _ratelimit

    monkeypatch.setattr(_ratelimit, "JITTER", 0.0)
