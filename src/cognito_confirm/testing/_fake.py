"""``FakeCognito``: the public face of the fake (see the ``cognito_confirm.testing`` docstring)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, Unpack

from ._backend import DEFAULT_MESSAGES, Backend, Rule
from ._faults import HTML, Answer, DarkMode, aws_error_answer, page_answer
from ._http import ServerThread
from ._model import UNCONFIRMED, Config, FakeConfig
from ._stats import FakeStats

if TYPE_CHECKING:
    from ._local import LocalClient

__all__ = ["FakeCognito"]


class FakeCognito:
    """A fake Cognito user pool endpoint that misbehaves on purpose (see the module docstring).

    Rates and quotas apply to AdminConfirmSignUp (``quota``, ``burst``, ``error_rate``,
    ``drop_rate``), ListUsers (``list_quota``) and AdminUpdateUserAttributes (``update_quota``);
    ``latency`` delays every Cognito call. An AdminConfirmSignUp goes through: access key check,
    latency, drop-before / ``error_rate`` / quota, the pool check, `fail()` rules, then the
    user's status, then ``trigger_latency`` if it confirmed the user (a post-confirmation
    Lambda trigger, which Cognito runs after the quota admitted the call: a throttled call
    does not wait for it); a drop-after loses the answer but keeps the confirmation. Drops alternate
    before/after (the first is before), so ``drop_rate=1`` confirms exactly every other call.
    Access keys (the ``Credential=`` of the signature) in ``invalid_access_keys`` get
    ``UnrecognizedClientException``; in ``denied_access_keys``, ``AccessDeniedException``; an
    unsigned call gets ``MissingAuthenticationTokenException``.

    The UserCreation quota (``quota``, ``burst``) is shared, as in Cognito, by AdminConfirmSignUp
    and ``SignUp``: a test can send live sign-ups beside a migration and count how many were
    throttled (``stats().throttled_by_action["SignUp"]``). ``quota_windows=True`` enforces every
    quota as fixed one-second windows instead of token buckets. The fake also answers Service
    Quotas' ``GetServiceQuota`` (``service_quota``; None: no applied value, as in an account
    that never raised it) and ``GetAWSDefaultServiceQuota`` (50) for quota code ``L-5987B8A0``;
    ``service_quotas_denied=True`` answers both with ``AccessDeniedException``.
    ``configure(case_sensitive=False)`` makes DescribeUserPool report
    ``UsernameConfiguration.CaseSensitive`` false (the users are still looked up exactly).

    The whole endpoint can fail too, mid-run, after ``after`` more calls and for ``seconds``
    (None: until `heal()`): `fail_all()` answers every call with one AWS error of any
    code and status, `answer_html()` with a page that is not from AWS at all, and
    `go_dark()` makes it unreachable (refused, dropped or hanging connections).

    ListUsers filters as Cognito does: ``cognito:user_status`` compares case-insensitively, while
    ``status`` is the Enabled/Disabled flag (every fake user is ``"Enabled"``), not the status.
    """

    def __init__(
        self,
        *,
        user_pool_id: str = "us-east-1_FakePool1",
        host: str = "127.0.0.1",
        port: int = 0,
        quota: float | None = None,
        burst: float | None = None,
        list_quota: float | None = None,
        update_quota: float | None = None,
        latency: float = 0.0,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        quota_windows: bool = False,
        service_quota: float | None = None,
        service_quotas_denied: bool = False,
        seed: int = 0,
        trigger_latency: float = 0.0,
        invalid_access_keys: Collection[str] = ("invalid",),
        denied_access_keys: Collection[str] = ("denied",),
    ) -> None:
        config = Config(
            quota,
            burst,
            list_quota,
            update_quota,
            latency,
            error_rate,
            drop_rate,
            quota_windows,
            service_quota,
            service_quotas_denied,
            trigger_latency=trigger_latency,
        )
        config.validate()
        self.user_pool_id: Final = user_pool_id
        self._backend = Backend(user_pool_id, config, seed, invalid_access_keys, denied_access_keys)
        self._host, self._port = host, port
        self._thread: ServerThread | None = None

    def start(self) -> Self:
        """Start serving in a background thread (a no-op when already started)."""
        if self._thread is None:
            thread = ServerThread(self._backend, self._host, self._port)
            thread.start()
            self._thread = thread
        return self

    def stop(self) -> None:
        """Close the server and every connection, and join the thread; safe to call twice."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """``http://HOST:PORT`` for a client's ``endpoint_url``; only while started."""
        if self._thread is None:
            raise RuntimeError("FakeCognito is not started: use start() or a with block")
        return f"http://{self._host}:{self._thread.port}"

    def local_client(
        self,
        *,
        access_key: str = "testing",
        read_timeout: float = 60.0,
        max_pool_connections: int = 10,
    ) -> LocalClient:
        """A client for ``client=`` that runs this fake in-process on the running event loop.

        From this call on, quotas, timed faults (``seconds=``), latency and the stats' times
        run on that loop's clock and sleep (``anyio.current_time``, ``anyio.sleep``): under a
        virtual-time loop (e.g. ``looptime``) a test of a two-second outage takes no wall time
        and gives the same answer on any machine. Call it inside the loop, before the faults
        with ``seconds``; do not serve HTTP from this fake at the same time. A call that hangs
        fails after ``read_timeout`` seconds, as botocore's would; at most
        ``max_pool_connections`` calls are in flight (aiobotocore's default, 10). See
        ``_local``'s docstring for what it raises; HTML pages (`answer_html()`) need the
        HTTP fake.
        """
        # Imported here: the HTTP fake itself needs only the standard library.
        import anyio

        from ._local import LocalClient

        self._backend.use_clock(anyio.current_time)
        return LocalClient(
            self._backend,
            access_key=access_key,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )

    def add_user(
        self, username: str, status: str = UNCONFIRMED, attributes: Mapping[str, str] | None = None
    ) -> None:
        """Create (or replace) a user; like Cognito it gets a ``sub`` attribute."""
        self._backend.add_users([(username, status, attributes or {})])

    def add_users(self, usernames: Iterable[str], status: str = UNCONFIRMED) -> None:
        """Create many users at once (sorted once, so a million is quick)."""
        self._backend.add_users((name, status, {}) for name in usernames)

    def fail(
        self,
        username: str,
        code: str,
        *,
        message: str | None = None,
        http_status: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer this user's AdminConfirmSignUp calls with ``code`` (e.g. a Lambda trigger's
        ``UserLambdaValidationException``), forever or for the first ``times`` calls.

        ``http_status`` defaults to Cognito's: 500 for InternalErrorException, else 400.
        ``times=0`` removes the rule.
        """
        text = message if message is not None else DEFAULT_MESSAGES.get(code, f"Injected {code}")
        if http_status is None:
            http_status = 500 if code == "InternalErrorException" else 400
        self._backend.fail(username, Rule(code, text, http_status, times))

    def fail_all(
        self,
        code: str,
        *,
        status: int = 400,
        message: str | None = None,
        after: int = 0,
        seconds: float | None = None,
    ) -> None:
        """Answer every Cognito call (any action, any user) with the AWS error ``code``.

        Any code goes, known to Cognito or not (``ExpiredToken``, ``RequestExpired``, a made-up
        one), at any HTTP ``status``; the answer is AWS JSON with an ``x-amzn-RequestId``, as
        AWS itself sends. It starts once ``after`` more calls were served as usual and lasts
        ``seconds`` from then (None: until `heal()`). Such calls count in ``requests`` and
        ``confirm_calls`` (they reached the endpoint) and in ``taken_over``. Replaces any
        `answer_html()` or `go_dark()` in force.
        """
        self._set_fault(aws_error_answer(code, status, message), after, seconds)

    def answer_html(
        self,
        status: int = 200,
        *,
        body: str | None = None,
        content_type: str = HTML,
        request_id: bool = False,
        after: int = 0,
        seconds: float | None = None,
    ) -> None:
        """Answer every Cognito call with a page that is not from Cognito, as a proxy would.

        By default an HTML page (``body``) with HTTP ``status`` and no ``x-amzn-RequestId``:
        what a wrong endpoint URL, a captive portal or a corporate proxy answers. Any body and
        ``content_type`` go (``request_id=True`` adds the header). ``after`` and ``seconds`` as
        for `fail_all()`.
        """
        self._set_fault(page_answer(status, body, content_type, request_id), after, seconds)

    def go_dark(
        self, seconds: float | None = None, *, mode: DarkMode = "refuse", after: int = 0
    ) -> None:
        """Make the endpoint unreachable for ``seconds`` (None: until `heal()`).

        ``mode``: ``"refuse"`` closes the listening socket (connecting fails at once) and every
        open connection; ``"drop"`` accepts each request and closes the connection without an
        answer; ``"hang"`` accepts it and answers nothing until the period ends, then closes.
        It starts once ``after`` more calls were served as usual (that call, too, is then
        dropped). Requests that arrive in the dark count only in ``stats().dark_requests``.
        """
        self._set_fault(mode, after, seconds)

    def heal(self) -> None:
        """End the `fail_all()`, `answer_html()` or `go_dark()` in force."""
        self._backend.faults.heal()
        if self._thread is not None:
            self._thread.wake()

    def _set_fault(self, what: Answer | DarkMode, after: int, seconds: float | None) -> None:
        self._backend.faults.set(what, after=after, seconds=seconds)
        if self._thread is not None:
            self._thread.wake()

    def configure(self, **changes: Unpack[FakeConfig]) -> None:
        """Change quotas, latencies or fault rates while serving (e.g. an outage mid-run)."""
        self._backend.configure(changes)

    def user_status(self, username: str) -> str | None:
        """The user's status, or ``None`` when there is no such user."""
        user = self._backend.user(username)
        return None if user is None else user[0]

    def user_attributes(self, username: str) -> dict[str, str]:
        """A copy of the user's attributes (``sub`` included); ``KeyError`` if unknown."""
        user = self._backend.user(username)
        if user is None:
            raise KeyError(username)
        return user[1]

    def status_counts(self) -> dict[str, int]:
        """How many users have each status, e.g. ``{"CONFIRMED": 998, "UNCONFIRMED": 2}``."""
        return self._backend.status_counts()

    def confirmations_in_flight(self) -> int:
        """AdminConfirmSignUp calls received and not answered yet.

        A client killed or cancelled mid-call leaves its calls here: the fake still carries
        them out (after its ``latency``), as Cognito would, and answers into a closed
        connection. Wait for 0 before reading ``stats()`` after such a client.
        """
        return self._backend.confirmations_in_flight()

    def stats(self) -> FakeStats:
        """A frozen snapshot of the counters."""
        return self._backend.stats()

    def reset_stats(self) -> None:
        """Zero the counters (users, rules and configuration stay), e.g. after a warm-up."""
        self._backend.reset_stats()
