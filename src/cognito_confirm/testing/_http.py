"""The fake's HTTP side: a minimal keep-alive HTTP/1.1 server speaking AWS JSON 1.1.

``ServerThread`` runs it in a daemon thread, so synchronous and asynchronous tests alike (and
any event loop, or none) can use the fake. Besides Cognito's actions it serves the ``/_fake/``
admin endpoints, for a benchmark that runs the fake in another process. The faults of
``_faults`` (outages, takeovers) are applied here, before a call reaches the backend; a
refusing fake closes its listening socket and opens it again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, cast

from ._backend import Backend
from ._faults import AMZ_JSON, HTML, Answer, DarkMode, aws_error_answer, page_answer
from ._model import UNCONFIRMED, ApiError, FakeConfig

__all__ = ["TARGET_PREFIX", "ServerThread"]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
"""What precedes the action name in the ``X-Amz-Target`` header of every Cognito call."""
SERVICE_QUOTAS_PREFIX: Final = "ServiceQuotasV20190624."
"""The same for Service Quotas, which the fake also answers (``AWS_ENDPOINT_URL_SERVICE_QUOTAS``
pointed at it) for the UserCreation quota only."""
_STREAM_LIMIT: Final = 2**16
"""The stream reader's buffer limit, asyncio's default (a request head longer is refused)."""
_HANG_POLL: Final = 0.05
"""Seconds between checks whether a hanging fake is lit again (healed from any thread)."""


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    def encode(self, keep_alive: bool) -> bytes:
        lines = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class _BadRequestError(Exception):
    """The bytes on the wire are not an HTTP/1.1 request this server understands."""


def _aws_reply(status: int, payload: Mapping[str, object], *extra: tuple[str, str]) -> _Reply:
    headers = (("x-amzn-RequestId", str(uuid.uuid4())), *extra)
    return _Reply(status, json.dumps(payload).encode(), headers, AMZ_JSON)


def _canned_reply(answer: Answer) -> _Reply:
    request_id = (("x-amzn-RequestId", str(uuid.uuid4())),) if answer.request_id else ()
    return _Reply(answer.status, answer.body, (*request_id, *answer.headers), answer.content_type)


def _aws_error(error: ApiError) -> _Reply:
    payload = {"__type": error.code, "message": error.message}
    return _aws_reply(error.status, payload, ("x-amzn-ErrorType", error.code))


def _json_reply(status: int, payload: object) -> _Reply:
    return _Reply(status, json.dumps(payload).encode())


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    """The next request on a keep-alive connection, or ``None`` once the client hung up."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _BadRequestError("truncated request head") from exc
        return None
    request_line, *lines = head[:-4].decode("latin-1").split("\r\n")
    try:
        method, path, version = request_line.split(" ", 2)
    except ValueError as exc:
        raise _BadRequestError(request_line) from exc
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise _BadRequestError("chunked request bodies are not supported")
    body = await reader.readexactly(int(headers.get("content-length", "0") or "0"))
    return _Request(method, path, headers, body, _keep_alive(version, headers))


def _keep_alive(version: str, headers: Mapping[str, str]) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return connection == "keep-alive"
    return connection != "close"


class _HttpServer:
    """A minimal keep-alive HTTP/1.1 server: just what botocore and a benchmark need.

    ``wake`` tells the thread's listener that the faults changed (a refusal may start).
    """

    def __init__(self, backend: Backend, wake: Callable[[], None]) -> None:
        self._backend = backend
        self._wake = wake
        self._tasks: set[asyncio.Task[None]] = set()
        self._unserved: set[socket.socket] = set()
        self._admin: dict[tuple[str, str], Callable[[object], object]] = {
            ("GET", "/_fake/stats"): self._admin_stats,
            ("POST", "/_fake/reset"): self._admin_reset,
            ("POST", "/_fake/users"): self._admin_users,
            ("POST", "/_fake/config"): self._admin_config,
            ("POST", "/_fake/fail_all"): self._admin_fail_all,
            ("POST", "/_fake/answer_html"): self._admin_answer_html,
            ("POST", "/_fake/go_dark"): self._admin_go_dark,
            ("POST", "/_fake/heal"): self._admin_heal,
        }

    def accept(self, conn: socket.socket) -> None:
        """Serve a connection the listener just accepted, in a task of its own.

        The socket is held here until its task has made a stream of it: a task cancelled
        before its first step never runs its ``finally``, and ``close_all`` closes the socket.
        """
        self._unserved.add(conn)
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: socket.socket) -> None:
        """One connection, request after request, until the client or a drop closes it."""
        try:
            reader, writer = await asyncio.open_connection(sock=conn, limit=_STREAM_LIMIT)
        except (OSError, asyncio.CancelledError):
            conn.close()
            return
        finally:
            self._unserved.discard(conn)
        try:
            await self._converse(reader, writer)
        except (_BadRequestError, ValueError, asyncio.LimitOverrunError):
            writer.write(_json_reply(400, {"error": "bad request"}).encode(keep_alive=False))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # only close_all() cancels a connection: it ends quietly
        finally:
            writer.close()

    async def close_all(self) -> None:
        """Close every open connection: stop() must not wait for idle keep-alive clients."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self._unserved:
            conn.close()
        self._unserved.clear()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            reply = await self._route(request)
            if reply is None:
                return  # a dropped connection: close without a byte of answer
            writer.write(reply.encode(request.keep_alive))
            if not request.keep_alive:
                return
            await writer.drain()

    async def _route(self, request: _Request) -> _Reply | None:
        if request.path.startswith("/_fake/"):
            return self._admin_reply(request)
        target = request.headers.get("x-amz-target", "")
        action = ""
        for prefix in (TARGET_PREFIX, SERVICE_QUOTAS_PREFIX):
            if target.startswith(prefix):
                action = target.removeprefix(prefix)
        if request.method != "POST" or request.path != "/":
            action = ""
        fault = self._backend.faults.on_request()
        if fault is None or isinstance(fault, Answer):
            return await self._cognito(action, request, fault)
        await self._go_dark(fault)
        return None

    async def _go_dark(self, mode: DarkMode) -> None:
        """Hold a request while hanging; then (or at once) drop it, unanswered."""
        if mode == "refuse":
            self._wake()
        faults = self._backend.faults
        # Polled: heal() comes from any thread, and the period may also just run out.
        while mode == "hang" and faults.dark()[0] == "hang":  # noqa: ASYNC110 - see above
            await asyncio.sleep(_HANG_POLL)

    async def _cognito(
        self, action: str, request: _Request, canned: Answer | None
    ) -> _Reply | None:
        backend = self._backend
        call = backend.receive(action, request.body, request.headers.get("authorization", ""))
        if canned is not None:
            backend.finish(call)
            return _canned_reply(canned)
        try:
            backend.authorize(call)
            latency = backend.latency
            if latency > 0:
                await asyncio.sleep(latency)
            payload = backend.execute(call)
            if trigger := backend.trigger_latency(call):
                await asyncio.sleep(trigger)
        except ApiError as error:
            reply: _Reply | None = _aws_error(error)
        else:
            reply = None if payload is None else _aws_reply(200, payload)
        finally:
            backend.finish(call)
        return None if call.drop_after else reply

    # ----- the /_fake/ admin endpoints, for a benchmark that runs the fake in another process

    def _admin_reply(self, request: _Request) -> _Reply:
        handler = self._admin.get((request.method, request.path))
        if handler is None:
            return _json_reply(404, {"error": f"no admin endpoint {request.method} {request.path}"})
        try:
            return _json_reply(200, handler(json.loads(request.body or b"{}")))
        except (ValueError, TypeError) as exc:
            return _json_reply(400, {"error": str(exc)})

    def _admin_stats(self, _body: object) -> object:
        summary = self._backend.stats().summary()
        summary["users_by_status"] = self._backend.status_counts()
        return summary

    def _admin_reset(self, _body: object) -> object:
        self._backend.reset_stats()
        return {"ok": True}

    def _admin_users(self, body: object) -> object:
        if not isinstance(body, dict) or not isinstance(body.get("usernames"), list):
            raise TypeError('expected {"usernames": [...], "status": "UNCONFIRMED"}')
        status = str(body.get("status", UNCONFIRMED))
        self._backend.add_users((str(name), status, {}) for name in body["usernames"])
        return {"added": len(body["usernames"])}

    def _admin_config(self, body: object) -> object:
        self._backend.configure(_config_changes(body))
        return {"ok": True}

    def _admin_fail_all(self, body: object) -> object:
        args = _arguments(body, code=str, status=int, message=str, after=int, seconds=float)
        answer = aws_error_answer(
            args.pop("code"), args.pop("status", 400), args.pop("message", None)
        )
        return self._set_fault(answer, args)

    def _admin_answer_html(self, body: object) -> object:
        args = _arguments(
            body, status=int, body=str, content_type=str, request_id=bool, after=int, seconds=float
        )
        answer = page_answer(
            args.pop("status", 200),
            args.pop("body", None),
            args.pop("content_type", HTML),
            args.pop("request_id", False),
        )
        return self._set_fault(answer, args)

    def _admin_go_dark(self, body: object) -> object:
        args = _arguments(body, seconds=float, mode=str, after=int)
        return self._set_fault(args.pop("mode", "refuse"), args)

    def _set_fault(self, what: Answer | str, args: dict[str, Any]) -> object:
        self._backend.faults.set(cast(Answer | DarkMode, what), **args)
        self._wake()
        return {"ok": True}

    def _admin_heal(self, _body: object) -> object:
        self._backend.faults.heal()
        self._wake()
        return {"ok": True}


_FLAGS: Final = frozenset({"quota_windows", "service_quotas_denied", "case_sensitive"})


def _config_changes(body: object) -> FakeConfig:
    """Check a JSON object's keys and values against `FakeConfig`."""
    if not isinstance(body, dict):
        raise TypeError("expected a JSON object of configure() keys")
    unknown = set(body) - set(FakeConfig.__annotations__)
    if unknown:
        raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
    for key, value in body.items():
        if key in _FLAGS:
            if not isinstance(value, bool):
                raise TypeError(f"{key} must be true or false")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"{key} must be a number or null")
    return cast(FakeConfig, body)


def _arguments(payload: object, **types: type) -> dict[str, Any]:
    """A JSON object's keys checked against keyword arguments and their types (null: left out)."""
    if not isinstance(payload, dict):
        raise TypeError("expected a JSON object")
    unknown = set(payload) - set(types)
    if unknown:
        raise ValueError(f"unknown keys: {sorted(unknown)}")
    args: dict[str, Any] = {}
    for key, value in payload.items():
        wanted = types[key]
        if value is None:
            continue
        if wanted is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not wanted:
            raise TypeError(f"{key} must be a {wanted.__name__}")
        args[key] = value
    if "code" in types and "code" not in args:
        raise ValueError("code is required")
    return args


class ServerThread:
    """Runs the asyncio server in a daemon thread, so synchronous and asynchronous tests alike
    (and any event loop, or none) can use the fake.

    While the faults say ``refuse``, the listening socket is closed (connecting fails at once)
    along with every open connection; it is opened again on the same port when the period ends.
    """

    def __init__(self, backend: Backend, host: str, port: int) -> None:
        self._backend, self._host, self.port = backend, host, port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._changed: asyncio.Event | None = None
        self._listener: socket.socket | None = None
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name="FakeCognito", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join()

    def wake(self) -> None:
        """The faults changed: let the listener check whether to refuse (from any thread)."""
        loop, changed = self._loop, self._changed
        if loop is not None and changed is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(changed.set)

    def _run(self) -> None:
        # A selector loop on every platform: the listener is watched with add_reader.
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            runner.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        self._changed = asyncio.Event()
        http = _HttpServer(self._backend, self.wake)
        try:
            self._listen(http)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        follower = asyncio.create_task(self._follow_faults(http, self._changed))
        try:
            await self._stopping.wait()
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            await self._close(http)

    def _listen(self, http: _HttpServer) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(
            self._host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, kind, proto)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(address)
            listener.listen(2048)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self.port = listener.getsockname()[1]
        self._listener = listener
        asyncio.get_running_loop().add_reader(listener, self._accept, listener, http)

    @staticmethod
    def _accept(listener: socket.socket, http: _HttpServer) -> None:
        # Accepted here, synchronously, rather than by asyncio.Server: a connection that
        # Server accepts just before its close() gets a half-made transport (Python 3.11-3.13
        # assert in Server._attach, swallowed), which leaks as an unclosed transport.
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: the client sees a refusal
                return
            http.accept(conn)

    async def _close(self, http: _HttpServer) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener)
            listener.close()
        await http.close_all()

    async def _follow_faults(self, http: _HttpServer, changed: asyncio.Event) -> None:
        """Close the listener while the faults say ``refuse``; open it again after."""
        faults = self._backend.faults
        while True:
            changed.clear()
            mode, until = faults.dark()
            if mode == "refuse" and self._listener is not None:
                await self._close(http)
            elif mode != "refuse" and self._listener is None:
                try:
                    self._listen(http)
                except OSError:  # the port is taken for now: try again soon
                    await asyncio.sleep(_HANG_POLL)
                    continue
            timeout = None if until is None else max(0.0, until - self._backend.now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)
