"""The fake's endpoint-wide faults: any error for every call, foreign pages, going dark.

Seen through a real aiobotocore client where it matters what botocore makes of them, and through
raw sockets where it matters what is on the wire (or that nothing is).
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import json
import socket
import threading
import warnings
from collections.abc import Callable
from urllib.parse import urlsplit

import anyio
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from cognito_confirm.testing import FakeCognito
from tests.testing.test_fake_cognito import POOL, cognito, cognito_call, confirm_error, raw_request
from tests.virtual_time import local_client, virtual_time


def address(fake: FakeCognito) -> tuple[str, int]:
    url = urlsplit(fake.endpoint_url)
    return url.hostname or "", url.port or 0


def exchange_raw(fake: FakeCognito, timeout: float = 5.0) -> bytes:
    """One AdminConfirmSignUp sent by hand; every byte of the answer until the server closes."""
    body = json.dumps({"UserPoolId": POOL, "Username": "alice"}).encode()
    head = (
        "POST / HTTP/1.1\r\nX-Amz-Target: AWSCognitoIdentityProviderService.AdminConfirmSignUp\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=testing/x\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(address(fake), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def test_fail_all_answers_any_code_after_n_calls(fake: FakeCognito) -> None:
    """fail_all(after=2): two calls as usual, then every call (any action) gets that error."""
    fake.add_users(["a", "b", "c"])
    fake.fail_all("ExpiredToken", status=403, message="The security token has expired.", after=2)
    async with cognito(fake) as client:
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="a")
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
        error = await confirm_error(client, "c")
        with pytest.raises(ClientError) as described:
            await client.describe_user_pool(UserPoolId=POOL)
    for failure in (error, described.value):
        assert failure.response["Error"]["Code"] == "ExpiredToken"
        assert failure.response["Error"]["Message"] == "The security token has expired."
        assert failure.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert failure.response["ResponseMetadata"]["RequestId"]
    stats = fake.stats()
    assert stats.confirm_calls == {"a": 1, "b": 1, "c": 1}
    assert stats.taken_over == 2
    assert fake.user_status("c") == "UNCONFIRMED"


@virtual_time
async def test_fail_all_unknown_code_for_seconds_then_heal() -> None:
    """A made-up code at HTTP 418 lasts `seconds` (of the loop's clock, in-process: the same
    fault timers as over HTTP); heal() ends one set without a limit."""
    fake = FakeCognito()
    fake.add_users(["a", "b"])
    client = local_client(fake)
    fake.fail_all("TeapotException", status=418, seconds=1.0)
    error = await confirm_error(client, "a")
    assert error.response["Error"]["Code"] == "TeapotException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 418
    await anyio.sleep(0.99)
    await confirm_error(client, "a")  # still within the second
    await anyio.sleep(0.02)
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="a")
    fake.fail_all("InternalErrorException", status=500)
    await anyio.sleep(3600)
    await confirm_error(client, "b")
    fake.heal()
    await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
    assert fake.status_counts() == {"CONFIRMED": 2}


@pytest.mark.parametrize("status", [200, 403, 404])
def test_answer_html_is_not_an_aws_answer(fake: FakeCognito, status: int) -> None:
    """answer_html: an HTML page with that status and no x-amzn-RequestId, as a proxy sends."""
    fake.add_user("alice")
    fake.answer_html(status)
    answer = exchange_raw(fake)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"text/html" in head
    assert b"x-amzn-requestid" not in head.lower()
    assert body.startswith(b"<!DOCTYPE html>")
    assert fake.user_status("alice") == "UNCONFIRMED"


async def test_botocore_takes_an_html_200_for_success(fake: FakeCognito) -> None:
    """Why the library must check answers: botocore parses HTTP 200 HTML into an empty success."""
    fake.answer_html(200, body="<html>Welcome to the hotel wifi</html>")
    async with cognito(fake) as client:
        answer = await client.admin_confirm_sign_up(UserPoolId=POOL, Username="ghost")
    assert set(answer) == {"ResponseMetadata"}
    assert "RequestId" not in answer["ResponseMetadata"]
    assert "x-amzn-requestid" not in answer["ResponseMetadata"]["HTTPHeaders"]


def test_answer_html_any_body_and_type(fake: FakeCognito) -> None:
    """Any body and content type, with a request id if asked."""
    fake.answer_html(200, body="{not json", content_type="application/json", request_id=True)
    status, headers, _ = cognito_call_raw(fake)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["x-amzn-requestid"]


def cognito_call_raw(fake: FakeCognito) -> tuple[int, dict[str, str], bytes]:
    host, port = address(fake)
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "x"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


async def test_go_dark_refuse_then_back_on_the_same_port(fake: FakeCognito) -> None:
    """refuse: connecting fails at once (botocore: EndpointConnectionError, not a connect
    timeout), then, the period over, the same port answers again."""
    fake.add_user("alice")
    async with cognito(fake) as client:
        await client.describe_user_pool(UserPoolId=POOL)  # a keep-alive connection is open
        fake.go_dark()
        await wait_for(lambda: refused(fake))
        with pytest.raises((EndpointConnectionError, ConnectionClosedError)) as caught:
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
        assert not isinstance(caught.value, ConnectTimeoutError)  # refused, not timed out
        fake.go_dark(0.2)  # a period that ends by itself: the fake listens again
        await wait_for(lambda: not refused(fake))
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert fake.user_status("alice") == "CONFIRMED"


def refused(fake: FakeCognito) -> bool:
    try:
        socket.create_connection(address(fake), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


async def wait_for(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (the fake's thread changes it), with a timeout far past any load."""
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110 - the fake's listening socket has no event
            await anyio.sleep(0.02)


async def test_go_dark_after_n_calls_and_heal(fake: FakeCognito) -> None:
    """go_dark(after=1): one call as usual, the next is dropped and the port refuses; heal()."""
    fake.add_users(["a", "b"])
    fake.go_dark(mode="refuse", after=1)
    async with cognito(fake) as client:
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="a")
        with pytest.raises(ConnectionClosedError):
            await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
        await wait_for(lambda: refused(fake))
        fake.heal()
        await wait_for(lambda: not refused(fake))
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="b")
    stats = fake.stats()
    assert stats.dark_requests == 1
    assert stats.confirm_calls == {"a": 1, "b": 1}


def test_connections_racing_the_listener_close_are_all_closed() -> None:
    """Clients that connect while the fake keeps closing and reopening its listener leave no
    server transport or socket unclosed (asyncio.Server did: a ResourceWarning under gc)."""
    stop = threading.Event()

    def knock(where: tuple[str, int]) -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                socket.create_connection(where, timeout=1).close()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with FakeCognito() as fake:
            knockers = [threading.Thread(target=knock, args=(address(fake),)) for _ in range(4)]
            for thread in knockers:
                thread.start()
            try:
                for _ in range(20):  # the old listener leaked 2,000 transports in 300
                    fake.go_dark()
                    knock_until(fake, refused=True)
                    fake.heal()
                    knock_until(fake, refused=False)
            finally:
                stop.set()
                for thread in knockers:
                    thread.join()
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def knock_until(fake: FakeCognito, *, refused: bool) -> None:
    """Connect until the fake's thread has closed (or reopened) its listener."""
    for _ in range(100_000):
        try:
            socket.create_connection(address(fake), timeout=5).close()
        except ConnectionRefusedError:
            if refused:
                return
        except ConnectionResetError:
            pass  # accepted into the backlog of a listener closing meanwhile
        else:
            if not refused:
                return
    pytest.fail("the fake's listener never changed state")


def test_go_dark_drop_answers_nothing(fake: FakeCognito) -> None:
    """drop: the request is read and the connection closed without a byte; counted as dark."""
    fake.add_user("alice")
    fake.go_dark(5, mode="drop")
    assert exchange_raw(fake) == b""
    stats = fake.stats()
    assert (stats.dark_requests, sum(stats.confirm_calls.values())) == (1, 0)
    assert fake.user_status("alice") == "UNCONFIRMED"


def test_go_dark_hang_holds_until_healed(fake: FakeCognito) -> None:
    """hang: no answer while dark (over HTTP, no byte on the wire)."""
    fake.go_dark(mode="hang")
    with pytest.raises(TimeoutError):
        exchange_raw(fake, timeout=0.3)
    fake.heal()


@virtual_time
async def test_go_dark_hang_holds_until_the_period_ends() -> None:
    """hang for 0.5 s: the call is held, unanswered, exactly until the period ends (loop
    seconds, in-process); the client's read timeout cuts a longer one."""
    fake = FakeCognito()
    fake.add_user("alice")
    client = fake.local_client(read_timeout=2.0)
    fake.go_dark(0.5, mode="hang")
    started = anyio.current_time()
    with pytest.raises(ConnectionClosedError):
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert 0.5 <= anyio.current_time() - started < 0.6
    fake.go_dark(mode="hang")
    started = anyio.current_time()
    with pytest.raises(ReadTimeoutError):
        await client.admin_confirm_sign_up(UserPoolId=POOL, Username="alice")
    assert anyio.current_time() - started == pytest.approx(2.0, abs=0.06)
    assert fake.user_status("alice") == "UNCONFIRMED"


def test_fault_arguments_are_checked(fake: FakeCognito) -> None:
    """Negative counts or durations, unknown modes and HTTP statuses are refused."""
    with pytest.raises(ValueError, match="after"):
        fake.fail_all("X", after=-1)
    with pytest.raises(ValueError, match="seconds"):
        fake.go_dark(float("inf"))
    with pytest.raises(ValueError, match="mode"):
        fake.go_dark(1, mode="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="HTTP status"):
        fake.answer_html(999)


def test_fault_admin_endpoints(fake: FakeCognito) -> None:
    """POST /_fake/fail_all, /answer_html, /go_dark and /heal do what the methods do."""
    fake.add_user("a")
    payload = {"UserPoolId": POOL, "Username": "a"}
    assert raw_request(fake, "POST", "/_fake/fail_all", {"code": "RequestExpired"})[0] == 200
    status, _, answer = cognito_call(fake, "AdminConfirmSignUp", payload)
    assert (status, answer["__type"]) == (400, "RequestExpired")
    body = {"status": 200, "body": "[]", "content_type": "application/json", "after": 1}
    assert raw_request(fake, "POST", "/_fake/answer_html", body)[0] == 200
    assert cognito_call(fake, "DescribeUserPool", {"UserPoolId": POOL})[0] == 200
    assert cognito_call(fake, "DescribeUserPool", {"UserPoolId": POOL})[2] == []
    assert raw_request(fake, "POST", "/_fake/go_dark", {"seconds": 5, "mode": "drop"})[0] == 200
    assert exchange_raw(fake) == b""
    assert raw_request(fake, "POST", "/_fake/heal")[0] == 200
    assert cognito_call(fake, "AdminConfirmSignUp", payload)[0] == 200
    stats = raw_request(fake, "GET", "/_fake/stats")[2]
    assert (stats["dark_requests"], stats["taken_over"]) == (1, 2)
    for path, bad in [
        ("/_fake/fail_all", {}),
        ("/_fake/fail_all", {"code": 1}),
        ("/_fake/go_dark", {"mode": "sideways"}),
        ("/_fake/go_dark", {"later": 1}),
        ("/_fake/answer_html", [200]),
    ]:
        assert raw_request(fake, "POST", path, bad)[0] == 400, (path, bad)
    raw_request(fake, "POST", "/_fake/reset")
    assert raw_request(fake, "GET", "/_fake/stats")[2]["taken_over"] == 0
