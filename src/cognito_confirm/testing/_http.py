"""The fake's HTTP side: a minimal keep-alive HTTP/1.1 server speaking AWS JSON 1.1.

``ServerThread`` runs it in a daemon thread, so synchronous and asynchronous tests alike (and
any event loop, or none) can use the fake. Besides Cognito's actions it serves the ``/_fake/``
admin endpoints, for a benchmark that runs the fake in another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final, cast

from ._backend import Backend
from ._model import UNCONFIRMED, ApiError, FakeConfig

__all__ = ["TARGET_PREFIX", "ServerThread"]

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
"""What precedes the action name in the ``X-Amz-Target`` header of every Cognito call."""
SERVICE_QUOTAS_PREFIX: Final = "ServiceQuotasV20190624."
"""The same for Service Quotas, which the fake also answers (``AWS_ENDPOINT_URL_SERVICE_QUOTAS``
pointed at it) for the UserCreation quota only."""

_AMZ_JSON: Final = "application/x-amz-json-1.1"


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
    return _Reply(status, json.dumps(payload).encode(), headers, _AMZ_JSON)


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
    """A minimal keep-alive HTTP/1.1 server: just what botocore and a benchmark need."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._tasks: set[asyncio.Task[None]] = set()
        self._admin: dict[tuple[str, str], Callable[[object], object]] = {
            ("GET", "/_fake/stats"): self._admin_stats,
            ("POST", "/_fake/reset"): self._admin_reset,
            ("POST", "/_fake/users"): self._admin_users,
            ("POST", "/_fake/config"): self._admin_config,
        }

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection, request after request, until the client or a drop closes it."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(cast("asyncio.Task[None]", task))
        try:
            await self._converse(reader, writer)
        except (_BadRequestError, ValueError, asyncio.LimitOverrunError):
            writer.write(_json_reply(400, {"error": "bad request"}).encode(keep_alive=False))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels a connection. Ending quietly matters: Python 3.11's stream
            # callback calls task.exception() on a cancelled task and logs a traceback.
            pass
        finally:
            self._tasks.discard(cast("asyncio.Task[None]", task))
            writer.close()

    async def close_all(self) -> None:
        """Cancel every open connection: stop() must not wait for idle keep-alive clients."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
        return await self._cognito(action, request)

    async def _cognito(self, action: str, request: _Request) -> _Reply | None:
        backend = self._backend
        call = backend.receive(action, request.body, request.headers.get("authorization", ""))
        try:
            backend.authorize(call)
            latency = backend.latency
            if latency > 0:
                await asyncio.sleep(latency)
            payload = backend.execute(call)
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


_FLAGS: Final = frozenset({"quota_windows", "service_quotas_denied"})


def _config_changes(body: object) -> FakeConfig:
    """Check a JSON object's keys and values against :class:`FakeConfig`."""
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


class ServerThread:
    """Runs the asyncio server in a daemon thread, so synchronous and asynchronous tests alike
    (and any event loop, or none) can use the fake."""

    def __init__(self, backend: Backend, host: str, port: int) -> None:
        self._backend, self._host, self.port = backend, host, port
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
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

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        http = _HttpServer(self._backend)
        try:
            server = await asyncio.start_server(http.serve, self._host, self.port, backlog=2048)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            await http.close_all()
            await server.wait_closed()
