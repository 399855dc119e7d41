"""The fake Cognito endpoint in a process of its own, driven over its ``/_fake/`` endpoints.

Why another process: the fake spends CPU answering, and on the client's process that CPU would
be charged to whichever alternative is being measured. Why one for a whole run (``one_process``):
``prepare()`` gives every run the same start whatever ran before (users, quota, latency,
counters), while starting the fake costs a second or more on a loaded machine, eight times in a
smoke run that does little else. A smoke run (``one_process(threaded=True)``) serves the same
fake from a thread of its own process instead: it measures nothing, and the fake's answers and
``/_fake/`` endpoints are the same, with no interpreter to start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, TypeAlias, cast

if TYPE_CHECKING:
    from cognito_confirm.testing import FakeCognito

USER_POOL_ID: Final = "us-east-1_BenchPool1"
_STOP_TIMEOUT: Final = 10.0
# The control calls go to loopback: never through a proxy from the environment.
_OPENER: Final = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_Server: TypeAlias = "subprocess.Popen[str] | FakeCognito"
"""A running fake: a child process, or (a smoke run) a thread of this one."""
_SPARE: Final[list[tuple[_Server, str]]] = []
"""Inside ``one_process``: the running fake between two scenarios (at most one)."""
_REUSING: Final[list[bool]] = []
"""Non-empty inside ``one_process``: whether its fake is served from a thread."""


@contextmanager
def one_process(*, threaded: bool = False) -> Iterator[None]:
    """Every ``FakeProcess`` inside this block reuses one fake, stopped at its end: a child
    process, or with ``threaded`` (a smoke run) a ``FakeCognito`` on a thread of this process."""
    _REUSING.append(threaded)
    try:
        yield
    finally:
        _REUSING.pop()
        while _SPARE:
            _stop_process(_SPARE.pop()[0])


@dataclass(frozen=True, slots=True)
class FakeSettings:
    """How the fake behaves for a scenario.

    Attributes:
        quota: AdminConfirmSignUp requests per second (token bucket, burst = quota), or None.
        latency: Seconds the fake waits before answering each call (before the quota).
        trigger_latency: Seconds a post-confirmation trigger adds to each confirmation, after
            the quota admitted it (a throttled call does not wait for it).
    """

    quota: float | None
    latency: float
    trigger_latency: float = 0.0


@dataclass(frozen=True, slots=True)
class FakeCounts:
    """What the fake saw since the last ``prepare``.

    Attributes:
        requests: AdminConfirmSignUp requests received.
        confirmations: Users it moved from UNCONFIRMED to CONFIRMED.
        throttled: Requests it answered ``TooManyRequestsException``.
    """

    requests: int
    confirmations: int
    throttled: int


class FakeProcess:
    """``python -m cognito_confirm.testing`` in a child process, as a context manager."""

    def __init__(self, settings: FakeSettings) -> None:
        self.settings = settings
        self._process: _Server | None = None
        self._url: str | None = None

    def __enter__(self) -> Self:
        if _SPARE:
            self._process, self._url = _SPARE.pop()
            return self
        if _REUSING and _REUSING[-1]:
            self._process = self._thread()
            self._url = self._process.endpoint_url
            return self
        process = subprocess.Popen(
            [sys.executable, "-m", "cognito_confirm.testing", *self._arguments()],
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("endpoint_url="):
            self._stop()
            msg = f"the fake Cognito process did not start (it printed {line!r})"
            raise RuntimeError(msg)
        self._url = line.removeprefix("endpoint_url=")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    @property
    def endpoint_url(self) -> str:
        """Where a cognito-idp client reaches the fake."""
        if self._url is None:
            msg = "the fake process is not running: use it in a with block"
            raise RuntimeError(msg)
        return self._url

    def prepare(
        self,
        usernames: Sequence[str],
        *,
        windows: bool = False,
        service_quota: float | None = None,
        service_quotas_denied: bool = False,
    ) -> None:
        """The same start for every run: these users UNCONFIRMED, a full bucket, zero counters.

        ``windows`` enforces the quota as fixed one-second windows instead of a token bucket;
        ``service_quota`` is what Service Quotas answers as the applied UserCreation quota.
        """
        self._post("/_fake/users", {"usernames": list(usernames), "status": "UNCONFIRMED"})
        # A bucket keeps its tokens across reconfiguration; dropping the quota first makes the
        # next one start full.
        self._post("/_fake/config", {"quota": None})
        config = {
            "quota": self.settings.quota,
            "latency": self.settings.latency,
            "trigger_latency": self.settings.trigger_latency,
            "quota_windows": windows,
            "service_quota": service_quota,
            "service_quotas_denied": service_quotas_denied,
        }
        self._post("/_fake/config", config)
        self._post("/_fake/reset", {})

    def stats(self) -> dict[str, object]:
        """Everything the fake's ``/_fake/stats`` says."""
        return cast(dict[str, object], self._call("GET", "/_fake/stats", None))

    def counts(self) -> FakeCounts:
        """The fake's AdminConfirmSignUp counters (live sign-ups' throttles left out)."""
        stats = self.stats()
        requests = cast(dict[str, int], stats["requests"])
        throttled = cast(dict[str, int], stats["throttled_by_action"])
        return FakeCounts(
            requests=requests.get("AdminConfirmSignUp", 0),
            confirmations=cast(int, stats["confirmations_total"]),
            throttled=throttled.get("AdminConfirmSignUp", 0),
        )

    def _thread(self) -> FakeCognito:
        """The same fake, started on a thread of this process."""
        from cognito_confirm.testing import FakeCognito  # only a smoke run's fake is a thread

        fake = FakeCognito(
            user_pool_id=USER_POOL_ID,
            host="127.0.0.1",
            quota=self.settings.quota,
            latency=self.settings.latency,
            trigger_latency=self.settings.trigger_latency,
        )
        return fake.start()

    def _arguments(self) -> list[str]:
        arguments = ["--host", "127.0.0.1", "--port", "0", "--pool-id", USER_POOL_ID]
        arguments += ["--latency", str(self.settings.latency)]
        arguments += ["--trigger-latency", str(self.settings.trigger_latency)]
        if self.settings.quota is not None:
            arguments += ["--quota", str(self.settings.quota)]
        return arguments

    def _post(self, path: str, body: object) -> None:
        self._call("POST", path, body)

    def _call(self, method: str, path: str, body: object) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.endpoint_url + path, data=data, method=method
        )
        with _OPENER.open(request, timeout=30) as response:
            return json.loads(response.read())

    def _stop(self) -> None:
        process, self._process = self._process, None
        url, self._url = self._url, None
        if process is None:
            return
        running = not isinstance(process, subprocess.Popen) or process.poll() is None
        if _REUSING and url is not None and running:
            _SPARE.append((process, url))
            return
        _stop_process(process)


def _stop_process(process: _Server) -> None:
    """Stop the fake, killing it if it does not stop within the timeout."""
    if not isinstance(process, subprocess.Popen):
        process.stop()
        return
    process.terminate()
    try:
        process.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def isolate_aws_environment() -> None:
    """Keep the developer's AWS configuration (retry mode, profile, proxy) out of the numbers."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="benchmark",
        AWS_SECRET_ACCESS_KEY="benchmark",  # noqa: S106 - a dummy: the fake accepts any key
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1"]))
